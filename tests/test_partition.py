"""The HBN partition algorithm: exact 1-D K-means, the stopping rule on hand-made scores with
known answers, and the whole command on a small trained FBin network."""
from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from accelsim.cli import main
from accelsim.errors import InputError
from accelsim.reference.partition import kmeans_1d, partition_scores


def sse(values, labels) -> float:
    v, lab = np.asarray(values, float), np.asarray(labels)
    return float(sum(((v[lab == c] - v[lab == c].mean()) ** 2).sum() for c in set(lab)))


def test_kmeans_on_separated_groups():
    labels = kmeans_1d([10.0, 1.0, 11.0, 2.0, 12.0, 3.0], 2)
    assert labels.tolist() == [1, 0, 1, 0, 1, 0]
    assert kmeans_1d([5.0, 5.0, 1.0], 2).tolist() == [1, 1, 0]     # ties share a cluster
    with pytest.raises(ValueError):
        kmeans_1d([5.0, 5.0, 1.0], 3)                               # only 2 distinct values


@settings(max_examples=80, deadline=None)
@given(st.lists(st.integers(0, 40), min_size=2, max_size=8), st.integers(1, 4))
def test_kmeans_is_optimal_among_all_splits_of_the_sorted_values(raw, k):
    values = [v / 4 for v in raw]
    distinct = sorted(set(values))
    k = min(k, len(distinct))
    labels = kmeans_1d(values, k)
    assert sorted(set(labels.tolist())) == list(range(k))
    means = [np.mean([v for v, lab in zip(values, labels) if lab == c]) for c in range(k)]
    assert means == sorted(means)                                  # numbered by mean
    best = min(sse(values, [sum(v >= distinct[c] for c in cuts) for v in values])
               for cuts in itertools.combinations(range(1, len(distinct)), k - 1))
    assert sse(values, labels) == pytest.approx(best, abs=1e-12)


NAMES = ["a", "b", "c", "d", "e", "f"]
FLAT = [1000] * 6


def test_stopping_rule_on_hand_made_scores():
    errors = [0.1, 0.1, 0.2, 0.2, 0.9, 1.0]
    # N = 2: {0.1, 0.1, 0.2, 0.2} {0.9, 1.0}: top share 2/6 <= 0.34
    p = partition_scores(NAMES, errors, FLAT, ratio=0.34, gamma=0.0)
    assert (p.clusters, p.wbin, p.history) == (2, ("e", "f"), ((2, 2, 2 / 6),))
    # R = 0.2: N = 3 keeps {0.9, 1.0} together (SSE 0.005 < 0.01), N = 4 isolates 1.0
    p = partition_scores(NAMES, errors, FLAT, ratio=0.2, gamma=0.0)
    assert p.clusters == 4 and p.wbin == ("f",)
    assert [h[:2] for h in p.history] == [(2, 2), (3, 2), (4, 1)]
    assert [r.cluster for r in p.layers] == [0, 0, 1, 1, 2, 3]
    # R below the share of the layers tied at the top: no layer is chosen
    p = partition_scores(NAMES, [0.1, 0.1, 0.1, 0.1, 1.0, 1.0], FLAT, ratio=0.3, gamma=0.0)
    assert p.wbin == () and p.clusters == 0 and p.history == ((2, 2, 2 / 6),)


def test_gamma_favours_cheap_layers():
    """Equal errors: the cost term gamma / NF makes the cheap layers' scores highest."""
    flops = [100, 100, 100, 100, 10, 10]
    p = partition_scores(NAMES, [0.5] * 6, flops, ratio=0.4, gamma=5.0)
    assert [r.score for r in p.layers] == [0.55] * 4 + [1.0] * 2
    assert p.wbin == ("e", "f")
    auto = partition_scores(NAMES, [0.2, 0.4, 0.3, 0.1, 0.2, 0.4], flops, ratio=0.4)
    assert auto.gamma == pytest.approx(np.mean([0.2, 0.4, 0.3, 0.1, 0.2, 0.4])
                                       / np.mean([1 / f for f in flops]))


@pytest.mark.parametrize("ratio", [0.0, 1.0, -0.5, 1.5, float("nan"), True])
def test_ratio_outside_zero_one_is_an_input_error(ratio):
    with pytest.raises(InputError) as err:
        partition_scores(NAMES, [0.1] * 6, FLAT, ratio=ratio)
    assert err.value.problems[0].field == "ratio"


# -- end to end on a small trained FBin network -----------------------------------------------

@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    pytest.importorskip("torch")
    from binary_training import SMALL_FBIN, synthetic_images, train

    from accelsim.reference.binerror import save_checkpoint
    model, acc = train(steps=60)
    folder = tmp_path_factory.mktemp("fbin")
    save_checkpoint(model, folder / "fbin.pt")
    x, _ = synthetic_images(24, SMALL_FBIN, seed=7)
    np.save(folder / "images.npy", x)
    return folder, acc


def test_partition_command_on_a_trained_fbin_network(trained):
    folder, acc = trained
    assert acc > 0.8                                     # it did learn the synthetic classes
    res = CliRunner().invoke(main, ["partition", str(folder / "fbin.pt"), "--ratio", "0.3",
                                    "--inputs", str(folder / "images.npy"), "--json",
                                    "-o", str(folder / "hybrid.json")])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    layers = doc["layers"]
    assert len(layers) == 20 and doc["images"] == 24       # ResNet-20: 21 convs, first fp
    assert all(r["score"] == pytest.approx(r["error"] + doc["gamma"] / r["flops"], rel=1e-12)
               for r in layers)
    again = partition_scores([r["name"] for r in layers], [r["error"] for r in layers],
                             [r["flops"] for r in layers], ratio=0.3)
    assert list(again.wbin) == doc["wbin"] and 0 < len(doc["wbin"]) <= 0.3 * 20
    top = max(r["cluster"] for r in layers)
    assert doc["wbin"] == [r["name"] for r in layers if r["cluster"] == top]
    assert min(r["score"] for r in layers if r["name"] in doc["wbin"]) > \
        max(r["score"] for r in layers if r["name"] not in doc["wbin"])
    res = CliRunner().invoke(main, ["trace", str(folder / "hybrid.json"), "-o",
                                    str(folder / "wl.json")])
    assert res.exit_code == 0, res.output
    wl = json.loads((folder / "wl.json").read_text())
    kinds = {layer["name"]: layer["variant"] for layer in wl["layers"]}
    assert sorted(n for n, v in kinds.items() if v == "wbin") == sorted(doc["wbin"])
    assert sum(v == "fbin" for v in kinds.values()) == 20 - len(doc["wbin"])


def test_partition_rejects_a_model_that_is_not_fully_binarized(trained, tmp_path):
    import torch

    from accelsim.reference.binerror import save_checkpoint
    from accelsim.reference.models import build_model
    from accelsim.reference.spec import ModelSpec
    save_checkpoint(build_model(ModelSpec("resnet20", width=0.25, resolution=8, variant="wbin")),
                    tmp_path / "wbin.pt")
    res = CliRunner().invoke(main, ["partition", str(tmp_path / "wbin.pt"), "--ratio", "0.5"])
    assert res.exit_code == 2
    assert res.stderr.strip() == (f"error: {tmp_path / 'wbin.pt'}: spec.variant: 'wbin' (the "
                                  "partition needs a fully binarized (fbin) model)")
    doc = torch.load(trained[0] / "fbin.pt", weights_only=True)
    assert doc["kind"] == "inference"                     # the format accelsim train exports
    doc["state"].pop("fc.weight")
    torch.save(doc, tmp_path / "broken.pt")
    res = CliRunner().invoke(main, ["partition", str(tmp_path / "broken.pt"), "--ratio", "0.5"])
    assert res.exit_code == 2 and "state: 'fc.weight' (missing parameter (1 missing" in \
        res.stderr
    # the earlier form ({spec, state_dict}, no kind) is still read, and checked the same way
    legacy = {"format": doc["format"], "version": 1, "spec": doc["spec"],
              "state_dict": doc["state"]}
    torch.save(legacy, tmp_path / "legacy.pt")
    res = CliRunner().invoke(main, ["partition", str(tmp_path / "legacy.pt"), "--ratio", "0.5"])
    assert res.exit_code == 2 and "state_dict: ['fc.weight'] (1 missing" in res.stderr
