"""Figures (matplotlib, Agg backend; this package and training_plots.py are the only modules that
import it).

Every function returns a :class:`matplotlib.figure.Figure` built without pyplot's global state;
:func:`save` writes it as PNG, SVG or PDF (chosen by the file suffix). Inputs are plain data:
DataFrames of store rows (:mod:`accelsim.dse.store`), :class:`~accelsim.results.records.Result`
and Chrome trace events (``{"name", "ph": "X", "ts", "dur", "pid", "tid"}``). What is drawn
(colours, states, labels) is computed in :mod:`accelsim.results.plotdata`.

* :func:`fraction_figure` — throughput and energy against the MAC share of the area, one line per
  workload, one panel per model (and per value of each ``facets`` field), the throughput optimum
  of each line marked with a star; the energy row is left out when energy does not vary with the
  share (each line's energy is then given in the legend);
* :func:`pareto_figure` — energy against throughput, every design point, the Pareto front, and
  points given as ``published`` with labels placed so they do not overlap;
* :func:`layers_figure` — per layer and unit array, the layer's cycles split into computing and
  waiting by cause (every bar is the layer's cycles), and energy by component;
* :func:`gantt_figure` — a Gantt chart of a timeline, one lane per (pid, tid), layer starts
  marked;
* :func:`energy_bars_figure` — energy by component of several runs, stacked bars, one panel per
  group (the report's memory-policy figure).
"""
from __future__ import annotations

from accelsim.results.plot.base import FORMATS, save
from accelsim.results.plot.runs import energy_bars_figure, gantt_figure, layers_figure
from accelsim.results.plot.sweeps import (
    FLAT_ENERGY_NOTE,
    FRONT_LABEL,
    OPTIMUM_LABEL,
    PUBLISHED_LABEL,
    fraction_figure,
    pareto_figure,
)

__all__ = ["FLAT_ENERGY_NOTE", "FORMATS", "FRONT_LABEL", "OPTIMUM_LABEL", "PUBLISHED_LABEL",
           "energy_bars_figure", "fraction_figure", "gantt_figure", "layers_figure",
           "pareto_figure", "save"]
