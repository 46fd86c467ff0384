"""The closed sets of choices accelsim's interfaces take, each defined once.

* :class:`Model`: how a question is answered: the paper's whole-network balance model, the
  op-count sequential model, the tile-level analytic bound, or the discrete-event engine;
* :class:`SchedulePolicy`: how layers follow each other in the tile-level models;
* :class:`Objective`: what an allocation or a mapping search minimises;
* :class:`MemoryPolicy`: where activations live between layers;
* :class:`FusionPolicy`: whether producer/consumer layer pairs run fused, chunk by chunk.

Each is a :class:`enum.StrEnum`, so a member *is* its string value (JSON, CSV and f-strings show
``"des"``, not ``Model.DES``); :meth:`parse` turns user input into a member or raises the usual
one-line :class:`~accelsim.errors.InputError`.
"""
from __future__ import annotations

import difflib
from enum import StrEnum
from typing import TypeVar

import numpy as np

from accelsim.errors import InputError, Problem

_E = TypeVar("_E", bound="Choice")
_Q = TypeVar("_Q", float, np.ndarray)


class Choice(StrEnum):
    """A closed set of string choices with a checked parser."""

    @classmethod
    def parse(cls: type[_E], value: object, field: str = "value", source: str | None = None
              ) -> _E:
        """The member whose value is ``value`` (a member passes through). Raises
        :class:`InputError` naming ``field``, the value and the valid choices otherwise."""
        if isinstance(value, cls):
            return value
        for member in cls:
            if value == member.value:
                return member
        names = [m.value for m in cls]
        near = difflib.get_close_matches(str(value), names, n=1)
        hint = f"; did you mean '{near[0]}'?" if near else ""
        raise InputError(Problem(field, value, f"must be one of {', '.join(names)}{hint}"),
                         source)

    @classmethod
    def values(cls) -> tuple[str, ...]:
        return tuple(m.value for m in cls)


class Model(Choice):
    """How a workload on a config is evaluated (every model returns a
    :class:`~accelsim.results.records.Result`).

    ``balance``: the whole network balanced over the config's unit counts (every unit class busy
    for the whole inference; Gope et al.'s throughput model at a fixed split);
    ``sequential``: layers one after another on the config's unit counts, op counts only;
    ``analytic``: the tile-level lower bound of the discrete-event engine (same mapping);
    ``des``: the discrete-event engine.
    """

    BALANCE = "balance"
    SEQUENTIAL = "sequential"
    ANALYTIC = "analytic"
    DES = "des"

    @property
    def counts_ops_only(self) -> bool:
        """True for the op-count models (no mapping, no memory, no schedule)."""
        return self in (Model.BALANCE, Model.SEQUENTIAL)


class SchedulePolicy(Choice):
    """How the layers of a mapped workload follow each other (tile-level models only).

    ``sequential``: a barrier after every layer; ``overlap``: a tile starts as soon as the tiles
    it depends on are done and its unit array is free.
    """

    SEQUENTIAL = "sequential"
    OVERLAP = "overlap"


#: The schedule recorded for op-count models, which do not model one.
NO_SCHEDULE = "-"


class Objective(Choice):
    """What a search minimises: cycles (``throughput``), energy, or their product (``edp``)."""

    THROUGHPUT = "throughput"
    ENERGY = "energy"
    EDP = "edp"

    def score(self, cycles: _Q, energy_pj: _Q) -> _Q:
        """The quantity to minimise."""
        if self is Objective.THROUGHPUT:
            return cycles
        if self is Objective.ENERGY:
            return energy_pj
        return cycles * energy_pj


class MappingObjective(Choice):
    """What the per-layer mapping choice minimises (``mapping.objective``): the layer's cycle
    bound (``throughput``), its memory and leakage energy (``energy``), their product
    (``edp``), or the bytes it moves to and from DRAM (``dram``)."""

    THROUGHPUT = "throughput"
    ENERGY = "energy"
    EDP = "edp"
    DRAM = "dram"

    def score(self, cycles: float, energy_pj: float, dram_bytes: float) -> float:
        """The quantity to minimise (the others as :meth:`Objective.score` scores them)."""
        if self is MappingObjective.DRAM:
            return dram_bytes
        return Objective(self.value).score(cycles, energy_pj)


class MemoryPolicy(Choice):
    """Where a layer's output lives until its consumers read it (docs/engine.md, section 4).

    ``roundtrip``: written to DRAM and read back by every consumer (the earlier model);
    ``resident``: kept in the activation buffer (``mapping.activation_buffer``) when it fits
    beside everything else live on chip, spilled to DRAM otherwise. Layer fusion (a depthwise
    layer and its pointwise consumer processed chunk by chunk) is :class:`FusionPolicy`."""

    ROUNDTRIP = "roundtrip"
    RESIDENT = "resident"


class FusionPolicy(Choice):
    """Whether a layer and its sole consumer run as one fused schedule unit (``mapping.fusion``;
    docs/engine.md, section 4): both cut on one grid of output-row chunks, each chunk of the
    intermediate map kept in the activation buffer until the consumer has read it, so that
    the map never goes to DRAM nor exists whole. ``off``: never; ``auto``: when the mapping
    objective says fusing the pair wins; ``always``: every pair that can be fused."""

    OFF = "off"
    AUTO = "auto"
    ALWAYS = "always"
