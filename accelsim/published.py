"""The published figures accelsim is checked against (data in ``accelsim/data/``)."""
from __future__ import annotations

import csv
from dataclasses import dataclass
from importlib import resources

import yaml

#: Columns of the published table compared cell by cell, with their units.
COLUMNS = ("muls_m", "adds_m", "macs_m", "size_kb", "energy", "throughput")


@dataclass(frozen=True)
class PublishedRow:
    """One row of Gope et al. Tables 1-2 (``None`` where the paper prints '-')."""

    network: str
    alpha: float | None
    r: str
    workload: str
    values: dict[str, float | None]
    digits: dict[str, int]

    @property
    def label(self) -> str:
        if self.alpha is None:
            return self.network
        return f"{self.network} a={self.alpha:g} r={self.r}"


def gope2019_mobilenet() -> tuple[PublishedRow, ...]:
    """Rows of the published MobileNet-V1 0.5 table, with the number of printed decimals."""
    text = resources.files("accelsim.data").joinpath("gope2019_mobilenet.csv").read_text()
    lines = [ln for ln in text.splitlines() if ln and not ln.startswith("#")]
    rows = []
    for rec in csv.DictReader(lines):
        values: dict[str, float | None] = {}
        digits: dict[str, int] = {}
        for col in COLUMNS:
            cell = rec[col].strip()
            values[col] = float(cell) if cell else None
            digits[col] = len(cell.split(".")[1]) if "." in cell else 0
        alpha = float(rec["alpha"]) if rec["alpha"].strip() else None
        rows.append(PublishedRow(rec["network"], alpha, rec["r"], rec["workload"], values,
                                 digits))
    return tuple(rows)


@dataclass(frozen=True)
class TinymlRow:
    """One row of Gope et al.'s tinyML Table I: values as printed (``digits``: decimals)."""

    network: str
    workload: str
    top1: float
    values: dict[str, float]
    digits: dict[str, int]


@dataclass(frozen=True)
class Headline:
    """A percentage of the tinyML abstract's text: ``workload``'s row against the baseline by
    ``metric`` (accelsim.study.tinyml.METRICS), ``printed`` with ``digits`` decimals."""

    text: str
    workload: str
    metric: str
    printed: float
    digits: int


#: Columns of Table I that accelsim computes (top-1 accuracy is published only).
TINYML_COLUMNS = ("size_kb", "energy", "throughput")


def gope2019_tinyml() -> tuple[str, tuple[TinymlRow, ...], tuple[Headline, ...]]:
    """The tinyML abstract's Table I and headline percentages, and the convention they use."""
    text = resources.files("accelsim.data").joinpath("gope2019_tinyml.yaml").read_text()
    doc = yaml.safe_load(text)
    rows = tuple(TinymlRow(r["network"], r["workload"], float(r["top1"]),
                           {c: float(r[c]) for c in TINYML_COLUMNS},
                           {c: _digits(r[c]) for c in TINYML_COLUMNS}) for r in doc["rows"])
    heads = tuple(Headline(h["text"], h["workload"], h["metric"], float(h["printed"]),
                           _digits(h["printed"])) for h in doc["headlines"])
    return str(doc["convention"]), rows, heads


def _digits(cell: str) -> int:
    cell = str(cell).strip()
    return len(cell.split(".")[1]) if "." in cell else 0
