"""Workload schema and files: what a network asks of an accelerator (no hardware here)."""
from accelsim.workload.load import (
    dumps_workload,
    load_workload,
    loads_workload,
    save_workload,
    workload_from_dict,
    workload_hash,
    workload_to_dict,
)
from accelsim.workload.schema import (
    SCHEMA,
    SCHEMA_VERSION,
    Layer,
    Shape,
    Stage,
    StrassenParams,
    WeightTensor,
    Workload,
)

__all__ = [
    "SCHEMA", "SCHEMA_VERSION", "Layer", "Shape", "Stage", "StrassenParams", "WeightTensor",
    "Workload", "dumps_workload", "load_workload", "loads_workload", "save_workload",
    "workload_from_dict", "workload_hash", "workload_to_dict",
]
