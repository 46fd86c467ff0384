"""``accelsim train`` on the binary variants: one phase, binarized from the first step, Adam or
SGD, exported in the checkpoint format that ``accelsim partition`` and ``trace --checkpoint``
read. Tiny networks (ResNet-20 width 0.25 at 8x8), 256 digits, one torch thread."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from accelsim.cli import main
from accelsim.errors import InputError
from accelsim.reference.schedule import TrainConfig, default_phases
from accelsim.reference.spec import ModelSpec

torch = pytest.importorskip("torch")

from accelsim.reference import checkpoint as ckpt
from accelsim.reference.binary import FullBinConv2d, WeightBinConv2d
from accelsim.reference.partition import partition
from accelsim.reference.train import train
from accelsim.reference.trained import trace_checkpoint

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _config(variant: str, epochs: int = 3, **kw) -> TrainConfig:
    spec = ModelSpec("resnet20", width=0.25, resolution=8, variant=variant)
    kw.setdefault("batch_size", 32)
    return TrainConfig(spec=spec.to_dict(), phases=default_phases(
        (epochs, 2, 2), (0.01, 0.01, 0.01), warmup_epochs=0), augment=False, **kw)


@pytest.fixture(scope="module")
def fbin_run(tiny_data, tmp_path_factory):
    folder = tmp_path_factory.mktemp("fbin")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return train(_config("fbin", optimizer="adam"), folder, data=tiny_data), folder
    finally:
        torch.set_num_threads(threads)


def test_a_binary_network_trains_one_phase_binarized(fbin_run):
    res, _ = fbin_run
    assert [r.phase for r in res.history] == ["fp"] * 3       # quantize / freeze: nothing to do
    losses = [r.loss for r in res.history]
    assert losses[-1] < losses[0]
    doc = ckpt.load(res.exported, "inference")
    assert doc["spec"]["variant"] == "fbin" and doc["training"]["phases"] == ["fp"]
    assert doc["training"]["accuracy"] == res.accuracy
    model, spec, _ = ckpt.load_model(res.exported)
    assert spec.variant == "fbin"
    assert sum(isinstance(m, FullBinConv2d) for m in model.modules()) == 20


def test_the_exported_checkpoint_is_what_partition_and_trace_read(fbin_run, tmp_path):
    res, _ = fbin_run
    direct = partition(res.exported, ratio=0.3, data="digits", images=24)
    assert direct.images == 24 and len(direct.layers) == 20
    assert direct.spec is not None and direct.spec.variant == "hbn"
    assert dict(direct.spec.binarize) == dict.fromkeys(direct.wbin, "wbin")
    out = CliRunner().invoke(main, ["partition", str(res.exported), "--ratio", "0.3", "--data",
                                    "digits", "--images", "24", "--json", "-o",
                                    str(tmp_path / "hybrid.json")])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["wbin"] == list(direct.wbin)
    note = json.loads((tmp_path / "hybrid.json").read_text())["note"]
    assert note["data"] == "digits" and note["images"] == 24
    wl = trace_checkpoint(res.exported, tmp_path)
    assert "xnor" in wl.ops and wl.provenance["training"]["accuracy"] == res.accuracy
    with pytest.raises(InputError, match="data: 'digits' \\(give --inputs or --data"):
        partition(res.exported, ratio=0.3, data="digits", inputs=tmp_path / "x.npy")


def test_wbin_trains_with_sgd_and_binary_weights_stay_binary(tiny_data, tmp_path):
    res = train(_config("wbin", epochs=2), tmp_path, data=tiny_data)
    assert [r.phase for r in res.history] == ["fp"] * 2
    model, _, _ = ckpt.load_model(res.exported)
    layers = [m for m in model.modules() if isinstance(m, WeightBinConv2d)]
    assert layers and all(set(m.sign_weight().unique().tolist()) <= {-1, 1} for m in layers)
    with pytest.raises(InputError, match="spec.variant: 'wbin' \\(the partition needs"):
        partition(res.exported, ratio=0.3)


def test_optimizer_is_checked_and_recorded_only_when_not_the_default():
    spec = ModelSpec("resnet20", width=0.25, resolution=8, variant="fbin").to_dict()
    with pytest.raises(InputError, match="optimizer: 'rmsprop' \\(must be one of sgd, adam"):
        TrainConfig(spec=spec, optimizer="rmsprop")
    assert "optimizer" not in TrainConfig(spec=spec).to_dict()     # earlier runs still resume
    cfg = TrainConfig(spec=spec, optimizer="adam")
    assert TrainConfig.from_dict(cfg.to_dict()) == cfg
    assert [p.name for p in cfg.active_phases] == ["fp"]
