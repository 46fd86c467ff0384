"""Pareto fronts (energy down, throughput up) on hand-made sets and random ones."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accelsim.dse.pareto import pareto
from accelsim.errors import InputError
from accelsim.results.pareto import pareto_mask


def test_hand_made_front():
    #            A    B    C    D    E    F    G(tie with C)  H(nan)
    thr = [1.0, 2.0, 3.0, 2.5, 0.5, 3.0, 3.0, np.nan]
    en = [1.0, 2.0, 2.5, 3.0, 0.5, 4.0, 2.5, 0.1]
    assert pareto_mask(thr, en).tolist() == [True, True, True, False, True, False, True, False]


def test_equal_throughput_keeps_lowest_energy_only():
    assert pareto_mask([1, 1, 1], [3, 2, 2]).tolist() == [False, True, True]
    assert pareto_mask([], []).tolist() == []
    with pytest.raises(ValueError):
        pareto_mask([1, 2], [1])


def _dominated(i: int, thr: np.ndarray, en: np.ndarray) -> bool:
    better_or_eq = (thr >= thr[i]) & (en <= en[i])
    strictly = (thr > thr[i]) | (en < en[i])
    return bool(np.any(better_or_eq & strictly))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 12), st.integers(0, 12)), min_size=1, max_size=40))
def test_front_matches_brute_force(points):
    thr = np.array([p[0] for p in points], dtype=float)
    en = np.array([p[1] for p in points], dtype=float)
    mask = pareto_mask(thr, en)
    assert mask.tolist() == [not _dominated(i, thr, en) for i in range(len(thr))]


def _frame() -> pd.DataFrame:
    rows = [("a", "w1", 1.0, 5.0, ""), ("b", "w1", 2.0, 6.0, ""), ("c", "w1", 1.5, 7.0, ""),
            ("d", "w2", 0.5, 1.0, ""), ("e", "w2", 9.0, 0.1, "boom")]
    return pd.DataFrame(rows, columns=["key", "workload", "inferences_per_s", "energy_pj",
                                       "error"]).assign(engine="balance")


def test_pareto_of_rows_skips_errors_and_groups():
    front = pareto(_frame())
    assert front["key"].tolist() == ["d", "a", "b"]
    by = pareto(_frame(), by=["workload"])
    assert by["key"].tolist() == ["a", "b", "d"]
    with pytest.raises(InputError, match="column: 'nope'"):
        pareto(_frame(), by=["nope"])
