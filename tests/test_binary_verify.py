"""``accelsim verify`` on binary and hybrid binary networks: outputs within the rounding bounds,
FullBinConv dot products exactly equal to torch's, op and word counts equal to the trace."""
from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

torch = pytest.importorskip("torch")

from accelsim import api
from accelsim.cli import main
from accelsim.reference import capture as torch_side
from accelsim.verify.run import check_layer

SPECS = [
    api.ModelSpec("resnet18", width=0.25, resolution=32, classes=10, variant="hbn",
                  binarize=(("layer3.1.conv1", "wbin"), ("fc", "fbin"))),
    api.ModelSpec("alexnet", width=0.25, resolution=64, classes=10, variant="hbn",
                  binarize=(("conv3", "wbin"), ("fc7", "wbin"))),
    api.ModelSpec("squeezenet1_0", width=0.25, resolution=64, classes=10, variant="fbin",
                  binary_last=True),
]


@pytest.fixture(scope="module", params=SPECS, ids=lambda s: s.model)
def report(request):
    return request.param, api.verify(request.param)


def test_binary_networks_verify(report):
    _, rep = report
    assert rep.ok, [(c.name, c.problems) for c in rep.failures]
    kinds = {c.kind for c in rep.layers}
    assert {"affine", "fbin_conv"} <= kinds
    for c in rep.layers:
        assert (c.dots_exact is True) == c.kind.startswith("fbin")
        for s in c.stages:
            assert (s.words_expected is not None) == (s.stage == "xnor")
            assert s.words_counted == s.words_expected and s.dense_counted == s.dense_expected
        if c.kind != "eltwise":
            assert c.bound_ratio <= 1 and c.bound_ratio_fp64 <= 1


def test_wbin_layers_are_verified_too(report):
    spec, rep = report
    wbin = [c for c in rep.layers if c.kind.startswith("wbin")]
    assert len(wbin) == sum(k == "wbin" for _, k in spec.binarize)
    assert all([s.stage for s in c.stages] == ["conv", "scale"] for c in wbin)


def test_a_wrong_weight_bit_or_a_wrong_dot_product_fails(monkeypatch):
    from accelsim.reference.trace import layer_arrays, trace
    from accelsim.verify import layers as kernel_side
    spec = SPECS[0]
    named, captured = torch_side.capture_model(spec)
    layer = "layer2.0.conv1"
    arrays = layer_arrays(dict(named)[layer])
    expected = trace(spec).layer(layer)
    x, out = captured[layer]
    assert check_layer(layer, arrays, x, out, expected, torch_side).ok
    flipped = dict(arrays, w=arrays["w"].copy())
    flipped["w"][0, 0, 1, 1] *= -1                  # the kernels now disagree with the module
    check = check_layer(layer, flipped, x, out, expected, torch_side)
    assert not check.ok and any("output differs from torch" in p for p in check.problems)
    real = kernel_side.binary_dots

    def off_by_two(arrays, x):                        # one wrong dot product in the kernel
        dots = real(arrays, x).copy()
        dots.flat[5] += 2
        return dots
    monkeypatch.setattr(kernel_side, "binary_dots", off_by_two)
    check = check_layer(layer, arrays, x, out, expected, torch_side)
    assert check.dots_exact is False
    assert "binary dot products differ from torch's by up to 2 (must be equal)" in check.problems


def test_verify_command_on_a_binary_model_name():
    res = CliRunner().invoke(main, ["verify", "resnet20", "--variant", "fbin", "--width", "0.5",
                                    "--resolution", "16", "--classes", "4",
                                    "--binarize", "layer3.2.conv2=wbin"])
    assert res.exit_code == 0, res.output
    assert res.output.splitlines()[-1].endswith("all match")
    assert "fbin_conv" in res.output and "wbin_conv" in res.output


def test_binary_layer_inputs_are_not_trivial():
    """The verified FullBinConv layers see both signs (BatchNorm calibration)."""
    named, captured = torch_side.capture_model(SPECS[0])
    fracs = [float(np.mean(captured[n][0][0] >= 0)) for n, m in named
             if type(m).__name__ == "FullBinConv2d"]
    assert fracs and all(0.1 < f < 0.9 for f in fracs)
