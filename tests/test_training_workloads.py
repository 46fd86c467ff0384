"""The bundled trained workloads (workloads/trained/): they re-trace byte-identically from their
checkpoints, verify on the kernels with the trained weights, and carry their accuracy."""
from __future__ import annotations

import json
import shutil

import pytest
from click.testing import CliRunner
from conftest import WORKLOADS

from accelsim.errors import InputError
from accelsim.workload import dumps_workload, load_workload
from accelsim.workload.accuracy import workload_accuracy
from accelsim.workload.schema import Workload

torch = pytest.importorskip("torch")

from accelsim.reference import checkpoint as ckpt
from accelsim.reference.trained import trace_checkpoint
from accelsim.verify import verify

TRAINED = WORKLOADS / "trained"
NAMES = ("resnet20_0.5_16px_baseline_digits", "resnet20_0.5_16px_twn_digits",
         "resnet20_0.5_16px_strassen_r1_digits", "resnet20_0.5_16px_hybrid_a0.5_r1_digits")


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_one_trained_workload_per_variant_is_bundled_with_a_small_checkpoint():
    assert sorted(p.stem for p in TRAINED.glob("*.json")) == sorted(NAMES)
    for name in NAMES:
        assert (TRAINED / "checkpoints" / f"{name}.pt").stat().st_size < 1_000_000


@pytest.mark.parametrize("name", NAMES)
def test_bundled_trained_workload_retraces_byte_identically(name):
    wl = trace_checkpoint(TRAINED / "checkpoints" / f"{name}.pt", relative_to=TRAINED)
    assert wl.name == name
    assert dumps_workload(wl) == (TRAINED / f"{name}.json").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", NAMES)
def test_bundled_trained_workload_verifies_with_its_trained_weights(name):
    report = verify(TRAINED / f"{name}.json")
    assert report.ok, [c.problems for c in report.failures] + list(report.problems)
    assert len(report.layers) == 31 and all(c.bound_ratio <= 1 for c in report.layers)


def test_accuracy_is_carried_from_the_checkpoint_into_the_workload():
    accs = {}
    for name in NAMES:
        wl = load_workload(TRAINED / f"{name}.json")
        doc = ckpt.load(TRAINED / "checkpoints" / f"{name}.pt", "inference")
        accs[name] = workload_accuracy(wl)
        assert accs[name] == doc["training"]["accuracy"]
        assert wl.provenance["training"]["data"] == "digits"
        assert wl.provenance["training"]["test_images"] == 360
        assert f"test accuracy {accs[name]:.4f}" in wl.description
    assert all(0.9 < a <= 1.0 for a in accs.values())
    assert workload_accuracy(load_workload(WORKLOADS / "resnet20_baseline.json")) is None
    bad = Workload(name="x", layers=(), provenance={"training": {"accuracy": 98.6}})
    with pytest.raises(InputError, match=r"provenance.training.accuracy: 98.6 \(must be a "
                                         r"fraction in \[0, 1\]\)"):
        workload_accuracy(bad)


def test_trained_sparsity_comes_from_the_trained_weights():
    """The twn workload's zero-skip counts are those of the checkpoint's ternary weights,
    not of the seed-0 random network of the same spec."""
    from accelsim.reference.entry import trace as trace_spec
    from accelsim.reference.spec import ModelSpec

    wl = load_workload(TRAINED / "resnet20_0.5_16px_twn_digits.json")
    untrained = trace_spec(ModelSpec.from_provenance(wl.provenance))
    nz = [s.ops_nonzero for layer in wl.layers for s in layer.stages]
    nz0 = [s.ops_nonzero for layer in untrained.layers for s in layer.stages]
    assert [s.ops_dense for layer in wl.layers for s in layer.stages] == \
        [s.ops_dense for layer in untrained.layers for s in layer.stages]
    assert nz != nz0


def test_changed_or_missing_checkpoint_is_reported_by_verify(tmp_path):
    for name in ("resnet20_0.5_16px_twn_digits",):
        shutil.copy(TRAINED / f"{name}.json", tmp_path / f"{name}.json")
    with pytest.raises(InputError, match=r"twn_digits.json: provenance.checkpoint.path: "
                                         r"'checkpoints/resnet20_0.5_16px_twn_digits.pt' "
                                         r"\(no such checkpoint"):
        verify(tmp_path / "resnet20_0.5_16px_twn_digits.json")
    (tmp_path / "checkpoints").mkdir()
    doc = ckpt.load(TRAINED / "checkpoints" / "resnet20_0.5_16px_twn_digits.pt")
    doc["training"]["accuracy"] = 0.5
    ckpt.save_atomic(doc, tmp_path / "checkpoints" / "resnet20_0.5_16px_twn_digits.pt")
    with pytest.raises(InputError, match=r"provenance.checkpoint.sha256: .* has changed since"):
        verify(tmp_path / "resnet20_0.5_16px_twn_digits.json")


def test_cli_trace_checkpoint_records_a_path_relative_to_the_output(tmp_path):
    from accelsim.cli import main

    out = tmp_path / "wl.json"
    ck = TRAINED / "checkpoints" / "resnet20_0.5_16px_strassen_r1_digits.pt"
    res = CliRunner().invoke(main, ["trace", "--checkpoint", str(ck), "-o", str(out)])
    assert res.exit_code == 0, res.output
    doc = json.loads(out.read_text())
    assert (out.parent / doc["provenance"]["checkpoint"]["path"]).resolve() == ck.resolve()
    res = CliRunner().invoke(main, ["trace", "resnet20", "--checkpoint", str(ck), "-o", "-"])
    assert res.exit_code == 2 and "--checkpoint fixes the network" in res.output
