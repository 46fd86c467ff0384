"""Golden result tables of the bundled workloads x configs (tests/golden/results/).

Every number the models give for the bundled inputs is pinned here: a change that moves one
fails this test and, rerun with ``pytest --update-golden``, shows the move in the diff of
tests/golden/results/*.csv (say why in the commit).
"""
from __future__ import annotations

import difflib

import pytest
from golden_results import CONFIGS, GOLDEN_RESULTS, focus, layers_table, results_table


@pytest.mark.parametrize("config", CONFIGS)
def test_results_table(config, update_golden):
    _check(f"{config}.csv", results_table(config), update_golden)


@pytest.mark.parametrize("config", CONFIGS)
def test_layers_table(config, update_golden):
    _check(f"layers_{config}_{focus(config)}.csv", layers_table(config), update_golden)


def _check(name: str, text: str, update: bool) -> None:
    path = GOLDEN_RESULTS / name
    if update:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return
    assert path.is_file(), f"no golden file {path}: run pytest --update-golden"
    want = path.read_text(encoding="utf-8")
    if text != want:
        diff = "".join(list(difflib.unified_diff(want.splitlines(True), text.splitlines(True),
                                                 "golden", "now", n=0))[:40])
        pytest.fail(f"{name} moved (pytest --update-golden rewrites it):\n{diff}")
