"""Training the reference model: phases, loss, BatchNorm folding, distillation, kill and resume
(bit-identical), data loaders on generated fixtures, checkpoint errors. Tiny networks (ResNet-20
width 0.25 at 8x8), small data subsets, one torch thread."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accelsim.errors import InputError
from accelsim.reference.schedule import Phase, TrainConfig, default_phases
from accelsim.reference.spec import ModelSpec

torch = pytest.importorskip("torch")

from accelsim.reference import checkpoint as ckpt
from accelsim.reference.data import load_data
from accelsim.reference.models import build_model
from accelsim.reference.train import accuracy, distillation_loss, train
from accelsim.reference.trainform import (
    HiddenBN,
    TernaryBN,
    fold,
    set_quantize,
    ternary_weights,
    to_train_form,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _config(variant: str, epochs=(2, 1, 1), **kw) -> TrainConfig:
    extra = {"alpha": 0.5} if variant == "hybrid" else {}
    spec = ModelSpec("resnet20", width=0.25, resolution=8, variant=variant, **extra)
    kw.setdefault("batch_size", 32)
    return TrainConfig(spec=spec.to_dict(), phases=default_phases(epochs, warmup_epochs=0), **kw)


def test_loss_falls_and_phases_switch(tiny_data, tmp_path):
    seen = []
    res = train(_config("strassen", (3, 1, 1)), tmp_path, data=tiny_data, on_epoch=seen.append)
    assert [r.phase for r in res.history] == ["fp"] * 3 + ["quantize", "freeze"]
    assert seen == list(res.history)
    losses = [r.loss for r in res.history]
    assert losses[2] < 0.9 * losses[0]                         # fp phase learns
    assert res.history[0].loss > 2.0 and losses[-1] < losses[0]
    assert all(r.images == 256 for r in res.history)
    # the exported accuracy is the folded network's, in [0, 1], and recorded in the file
    doc = ckpt.load(res.exported, "inference")
    assert doc["training"]["accuracy"] == res.accuracy
    assert doc["training"]["phases"] == ["fp", "quantize", "freeze"]
    model, _, _ = ckpt.load_model(res.exported)
    assert accuracy(model, tiny_data.test_x, tiny_data.test_y) == res.accuracy
    assert res.history[2].train_acc > res.history[0].train_acc


def test_freeze_phase_keeps_ternary_weights_and_trains_the_rest(tiny_data, tmp_path):
    snaps = {}

    def grab(r):
        state = ckpt.load(tmp_path / "checkpoint.pt", "training")["state"]
        snaps[r.phase] = state
    train(_config("strassen", (1, 1, 1)), tmp_path, data=tiny_data, on_epoch=grab)
    q, f = snaps["quantize"], snaps["freeze"]
    wb = [k for k in q if k.endswith("wb.wb.weight") or k.endswith("wc.weight")]
    assert wb and all(torch.equal(q[k], f[k]) for k in wb)
    a = [k for k in q if k.endswith(".a")]
    assert a and any(not torch.equal(q[k], f[k]) for k in a)
    assert snaps["fp"] is not None


def test_baseline_runs_phase_fp_only(tiny_data, tmp_path):
    res = train(_config("baseline", (2, 3, 3)), tmp_path, data=tiny_data)
    assert [r.phase for r in res.history] == ["fp", "fp"]


@pytest.mark.parametrize("variant", ["baseline", "twn", "strassen", "hybrid"])
def test_batchnorm_folds_exactly_into_the_inference_form(variant):
    spec = ModelSpec("resnet20", width=0.25, resolution=8, classes=10, variant=variant,
                     **({"alpha": 0.5} if variant == "hybrid" else {}))
    model = to_train_form(build_model(spec))
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():                      # non-trivial statistics and affine parameters
        for m in model.modules():
            if isinstance(m, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
                m.running_mean.normal_(0, 0.5, generator=g)
                m.running_var.uniform_(0.5, 2.0, generator=g)
                m.weight.uniform_(0.5, 1.5, generator=g)
                m.bias.normal_(0, 0.3, generator=g)
    kinds = {type(m) for m in model.modules()}
    assert (TernaryBN in kinds) == (variant == "twn")
    assert (HiddenBN in kinds) == (variant in ("strassen", "hybrid"))
    model.eval()
    x = torch.randn(4, 3, 8, 8, generator=g)
    with torch.no_grad():
        want = model(x)
        folded = fold(model)
        got = folded(x)
    assert not any(isinstance(m, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d))
                   for m in folded.modules())
    assert torch.allclose(got, want, rtol=1e-4, atol=1e-5)
    # and the folded network has the inference form's parameter names (plus TWN scales)
    plain = set(build_model(spec).state_dict())
    assert plain <= set(folded.state_dict())
    extra = set(folded.state_dict()) - plain
    assert all(k.endswith("channel_scale") for k in extra) and bool(extra) == (variant == "twn")


def test_quantize_switch_changes_the_forward_pass():
    spec = ModelSpec("resnet20", width=0.25, resolution=8, variant="twn")
    model = build_model(spec)
    x = torch.randn(2, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        q = model(x)
        set_quantize(model, False)
        f = model(x)
        set_quantize(model, True)
        assert torch.equal(model(x), q)
    assert not torch.allclose(q, f)
    assert len(list(ternary_weights(model))) == 22


def test_distillation_loss_is_the_papers_soft_cross_entropy():
    g = torch.Generator().manual_seed(0)
    student = torch.randn(5, 10, generator=g)
    teacher_logits = torch.randn(5, 10, generator=g)

    class Fixed(torch.nn.Module):
        def forward(self, x):
            return teacher_logits

    cfg = _config("strassen", distill_weight=0.5, temperature=2.0)
    got = distillation_loss(student, Fixed(), torch.zeros(5), cfg)
    p = torch.softmax(teacher_logits / 2, 1)
    want = 0.5 * 4 * -(p * torch.log_softmax(student / 2, 1)).sum(1).mean()
    assert torch.allclose(got, want)
    # the student that equals the teacher has the teacher's entropy as its loss (T = 1)
    same = distillation_loss(teacher_logits, Fixed(), torch.zeros(5), _config("strassen"))
    ent = -(torch.softmax(teacher_logits, 1) * torch.log_softmax(teacher_logits, 1)).sum(1)
    assert torch.allclose(same, ent.mean())


def test_training_with_a_teacher_and_a_teacher_of_another_network(tiny_data, tmp_path):
    base = train(_config("baseline", (1, 0, 0)), tmp_path / "t", data=tiny_data)
    res = train(_config("strassen", (1, 1, 0), teacher=str(base.exported)), tmp_path / "s",
                data=tiny_data)
    assert ckpt.load(res.exported)["training"]["distilled"] is True
    other = ModelSpec("resnet20", width=0.25, resolution=16, variant="strassen").to_dict()
    cfg = _config("strassen", teacher=str(base.exported))
    with pytest.raises(InputError, match=r"spec.resolution: 8 \(the student has 16"):
        train(cfg.with_(spec=other), tmp_path / "x", data=load_data("digits", 16))


def _interrupt_at(epoch: int, step: int):
    def hook(e: int, s: int) -> None:
        if (e, s) == (epoch, step):
            raise KeyboardInterrupt(f"killed in epoch {e} step {s}")
    return hook


def test_kill_and_resume_gives_the_same_weights_as_an_uninterrupted_run(tiny_data, tmp_path):
    cfg = _config("hybrid", (2, 1, 1))
    whole = train(cfg, tmp_path / "whole", data=tiny_data)
    run = tmp_path / "killed"
    with pytest.raises(KeyboardInterrupt):         # mid-epoch, mid-phase fp (momentum kept)
        train(cfg, run, data=tiny_data, on_step=_interrupt_at(1, 3))
    assert ckpt.load(run / "checkpoint.pt")["epochs_done"] == 1
    with pytest.raises(KeyboardInterrupt):         # resumed, killed again in phase freeze
        train(cfg, run, resume=True, data=tiny_data, on_step=_interrupt_at(3, 2))
    assert ckpt.load(run / "checkpoint.pt")["epochs_done"] == 3
    resumed = train(cfg, run, resume=True, data=tiny_data)
    a = ckpt.load(whole.exported)["state"]
    b = ckpt.load(resumed.exported)["state"]
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert [r.loss for r in resumed.history] == [r.loss for r in whole.history]
    assert resumed.accuracy == whole.accuracy
    assert not list(run.glob(".*.tmp"))             # atomic writes leave no temporary files


def test_a_second_run_in_the_same_folder_or_with_other_settings_is_refused(tiny_data, tmp_path):
    cfg = _config("baseline", (1, 0, 0))
    train(cfg, tmp_path, data=tiny_data)
    with pytest.raises(InputError, match="a run already exists here"):
        train(cfg, tmp_path, data=tiny_data)
    with pytest.raises(InputError, match=r"config: \['batch_size'\]"):
        train(cfg.with_(batch_size=16), tmp_path, resume=True, data=tiny_data)


# -- schedule ----------------------------------------------------------------------------------

def test_learning_rate_schedules():
    cos = Phase("fp", 4, 0.2, "cosine", warmup_epochs=1)
    assert cos.lr_at(0, 0, 10) == pytest.approx(0.02)             # warm-up from 0
    assert cos.lr_at(0, 9, 10) == pytest.approx(0.2)
    assert cos.lr_at(1, 0, 10) == pytest.approx(0.2)
    assert cos.lr_at(2, 5, 10) == pytest.approx(0.1)               # half-way through cosine
    step = Phase("fp", 250, 0.1, "step", milestones=(150, 200))    # StrassenNets, CIFAR-10
    assert [step.lr_at(e, 0, 1) for e in (0, 149, 150, 199, 200)] == pytest.approx(
        [0.1, 0.1, 0.01, 0.01, 0.001])
    with pytest.raises(InputError, match="warmup_epochs: 4"):
        Phase("fp", 4, 0.1, warmup_epochs=4)
    with pytest.raises(InputError, match="schedule: 'linear'"):
        Phase("fp", 4, 0.1, "linear")


@settings(max_examples=60, deadline=None)
@given(epochs=st.integers(1, 20), warm=st.integers(0, 5), steps=st.integers(1, 30),
       lr=st.floats(1e-4, 1.0))
def test_cosine_lr_is_bounded_and_never_rises_after_warmup(epochs, warm, steps, lr):
    warm = min(warm, epochs - 1)
    p = Phase("quantize", epochs, lr, "cosine", warmup_epochs=warm)
    lrs = [p.lr_at(e, s, steps) for e in range(epochs) for s in range(steps)]
    assert all(0 <= v <= lr * (1 + 1e-12) for v in lrs)
    after = lrs[warm * steps:]
    assert all(b <= a + 1e-15 for a, b in zip(after, after[1:]))


def test_config_round_trips_and_rejects_bad_fields():
    cfg = _config("hybrid", teacher="t.pt", temperature=2.0)
    assert TrainConfig.from_dict(cfg.to_dict()) == cfg
    assert cfg.total_epochs == 4 and cfg.phase_of(2) == (cfg.phases[1], 0)
    with pytest.raises(InputError) as err:
        _config("twn", batch_size=0, temperature=0.0)
    assert {p.field for p in err.value.problems} == {"batch_size", "temperature"}


# -- data ------------------------------------------------------------------------------------

def test_digits_ship_with_scikit_learn_and_split_fixed():
    d = load_data("digits", 16)
    assert (len(d.train_y), len(d.test_y), d.classes) == (1437, 360, 10)
    assert d.train_x.shape == (1437, 3, 16, 16)
    assert abs(float(d.train_x.mean())) < 1e-5 and float(d.train_x.std()) == pytest.approx(1, 0.01)
    again = load_data("digits", 16)
    assert torch.equal(d.test_y, again.test_y) and torch.equal(d.train_x, again.train_x)
    assert sorted(torch.bincount(d.test_y).tolist())[0] >= 25      # every class in the test split


def _cifar_bytes(labels, seed):
    rng = np.random.default_rng(seed)
    recs = rng.integers(0, 256, size=(len(labels), 3073), dtype=np.uint8)
    recs[:, 0] = labels
    return recs


def test_cifar10_binary_loader(tmp_path):
    a = _cifar_bytes([0, 1, 2, 3, 4], 0)
    b = _cifar_bytes([5, 6, 7, 8, 9, 0], 1)
    t = _cifar_bytes([9, 8, 7], 2)
    (tmp_path / "data_batch_1.bin").write_bytes(a.tobytes())
    (tmp_path / "data_batch_2.bin").write_bytes(b.tobytes())
    (tmp_path / "test_batch.bin").write_bytes(t.tobytes())
    d = load_data(f"cifar10:{tmp_path}", 32)
    assert d.train_y.tolist() == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0]
    assert d.test_y.tolist() == [9, 8, 7] and d.classes == 10
    # pixel layout: channel-major 32x32 after the label byte (before normalisation)
    raw = a[1, 1:].reshape(3, 32, 32).astype(np.float32) / 255
    mean = np.concatenate([a, b])[:, 1:].reshape(-1, 3, 1024).astype(np.float32) / 255
    m, s = mean.mean(axis=(0, 2)), mean.std(axis=(0, 2), ddof=1)
    assert np.allclose(d.train_x[1].numpy(), (raw - m[:, None, None]) / s[:, None, None],
                       atol=1e-4)
    (tmp_path / "test_batch.bin").write_bytes(t.tobytes()[:-7])
    with pytest.raises(InputError, match=r"test_batch.bin: <file>: .* \(9212 bytes is not a "
                                         r"whole number of 3073-byte CIFAR-10 records\)"):
        load_data(f"cifar10:{tmp_path}", 32)
    t[1, 0] = 12
    (tmp_path / "test_batch.bin").write_bytes(t.tobytes())
    with pytest.raises(InputError, match="record 1 has label 12"):
        load_data(f"cifar10:{tmp_path}", 32)
    with pytest.raises(InputError, match="no CIFAR-10 binary files"):
        load_data(f"cifar10:{tmp_path.parent}", 32)


def test_imagefolder_loader(tmp_path):
    from PIL import Image

    colours = {"cat": (250, 10, 10), "dog": (10, 250, 10), "owl": (10, 10, 250)}
    for split, n in (("train", 3), ("val", 1)):
        for name, rgb in colours.items():
            (tmp_path / split / name).mkdir(parents=True)
            for i in range(n):
                Image.new("RGB", (6 + i, 6), rgb).save(tmp_path / split / name / f"{i}.png")
    d = load_data(f"imagefolder:{tmp_path}", 8)
    assert d.classes == 3 and d.train_y.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert d.test_y.tolist() == [0, 1, 2] and d.train_x.shape == (9, 3, 8, 8)
    # the red channel is highest for cats, lowest for the others
    assert float(d.test_x[0, 0].mean()) > float(d.test_x[1, 0].mean())
    (tmp_path / "train" / "owl" / "bad.png").write_text("not an image")
    with pytest.raises(InputError, match=r"bad.png: <file>: .* \(not a readable image"):
        load_data(f"imagefolder:{tmp_path}", 8)
    (tmp_path / "train" / "owl" / "bad.png").unlink()
    (tmp_path / "val" / "emu").mkdir()
    with pytest.raises(InputError, match=r"emu.* \(a class folder that .* does not have\)"):
        load_data(f"imagefolder:{tmp_path}", 8)


def test_unknown_data_source():
    with pytest.raises(InputError, match="data: 'mnist'"):
        load_data("mnist", 8)


# -- checkpoints -------------------------------------------------------------------------------

def test_checkpoint_errors_name_the_file(tmp_path, tiny_data):
    res = train(_config("twn", (1, 1, 0)), tmp_path / "run", data=tiny_data)
    good = res.exported.read_bytes()
    cut = tmp_path / "cut.pt"
    cut.write_bytes(good[: len(good) // 2])
    with pytest.raises(InputError, match=r"cut.pt: <file>: .* \(not a readable checkpoint"):
        ckpt.load_model(cut)
    with pytest.raises(InputError, match=r"checkpoint.pt: kind: 'training' \(must be "
                                         "inference"):
        ckpt.load_model(tmp_path / "run" / "checkpoint.pt")
    torch.save({"weights": 1}, tmp_path / "plain.pt")
    with pytest.raises(InputError, match=r"plain.pt: format: <missing>|plain.pt: format: None"):
        ckpt.load(tmp_path / "plain.pt")
    doc = ckpt.load(res.exported)
    doc["spec"]["width"] = 0.5
    ckpt.save_atomic(doc, tmp_path / "wide.pt")
    with pytest.raises(InputError, match=r"wide.pt: state.conv1.conv.weight|wide.pt: state\."
                                         r"conv1.weight: \(4, 3, 3, 3\) \(shape must be "
                                         r"\(8, 3, 3, 3\): the checkpoint is of another"):
        ckpt.load_model(tmp_path / "wide.pt")
    model, spec, _ = ckpt.load_model(res.exported)
    assert spec.variant == "twn" and not math.isnan(float(next(model.parameters()).detach().sum()))
