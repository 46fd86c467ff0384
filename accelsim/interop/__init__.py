"""Interchange with other simulators (SCALE-Sim topology CSVs and compute reports)."""
from accelsim.interop.scalesim import (
    COLUMNS,
    DEPTHWISE_MODES,
    HEADER,
    export_scalesim,
    export_topology,
    import_scalesim,
    import_topology,
    parse_topology,
    scalesim_out,
)
from accelsim.interop.scalesim_report import (
    ScaleSimRow,
    dumps_golden,
    is_compute_cycles,
    load_golden,
    os_compute_cycles,
    per_topology_row,
    read_compute_report,
    ws_compute_cycles,
)

__all__ = [
    "COLUMNS", "DEPTHWISE_MODES", "HEADER", "ScaleSimRow", "dumps_golden", "export_scalesim",
    "export_topology", "import_scalesim", "import_topology", "is_compute_cycles", "load_golden",
    "os_compute_cycles", "parse_topology", "per_topology_row", "read_compute_report",
    "scalesim_out", "ws_compute_cycles",
]
