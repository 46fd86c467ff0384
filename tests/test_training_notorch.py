"""The training commands without torch or scikit-learn: one line and exit status 2; the
sensitivity figure and a workload's accuracy need neither."""
from __future__ import annotations

import json
import sys

from click.testing import CliRunner
from conftest import WORKLOADS

from accelsim.cli import main
from accelsim.workload import load_workload
from accelsim.workload.accuracy import workload_accuracy

NO_TORCH = "error: the reference model needs PyTorch: pip install torch==2.13.0"


def test_training_commands_without_torch_print_one_line_and_exit_2(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "torch", None)       # makes `import torch` fail
    ck = str(WORKLOADS / "trained" / "checkpoints" / "resnet20_0.5_16px_twn_digits.pt")
    runner = CliRunner()
    for args in (["train", "resnet20", "--run", str(tmp_path / "run")],
                 ["rediscover-strassen", "--seeds", "1"],
                 ["sensitivity", ck, "--layer", "conv1", "--out", str(tmp_path / "s.json")],
                 ["trace", "--checkpoint", ck, "-o", str(tmp_path / "wl.json")]):
        res = runner.invoke(main, args)
        assert res.exit_code == 2, (args, res.output)
        assert res.stderr.strip().splitlines() == [NO_TORCH]
    assert list(tmp_path.iterdir()) == []


def test_digits_without_scikit_learn_is_one_line(monkeypatch, tmp_path):
    import pytest

    pytest.importorskip("torch")
    monkeypatch.setitem(sys.modules, "sklearn", None)
    res = CliRunner().invoke(main, ["train", "resnet20", "--run", str(tmp_path / "run")])
    assert res.exit_code == 2
    assert res.stderr.strip().splitlines() == [
        "error: data: 'digits' (the digits dataset ships with scikit-learn: pip install "
        "'scikit-learn>=1.3')"]


def test_sensitivity_plot_and_accuracy_need_no_torch(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "torch", None)
    doc = {"network": "n", "results": [{"r": 2, "loss": [0.3, 0.2]},
                                       {"r": 8, "loss": [0.1, 0.05]}]}
    (tmp_path / "s.json").write_text(json.dumps(doc))
    res = CliRunner().invoke(main, ["plot", "sensitivity", str(tmp_path / "s.json"), "--out",
                                    str(tmp_path / "s.png")])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "s.png").read_bytes()[:4] == b"\x89PNG"
    wl = load_workload(WORKLOADS / "trained" / "resnet20_0.5_16px_hybrid_a0.5_r1_digits.json")
    assert workload_accuracy(wl) == wl.provenance["training"]["accuracy"]
