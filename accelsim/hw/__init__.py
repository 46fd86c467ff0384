"""Hardware configs: units and their costs, arrays, buffers, DRAM, clock (no networks here)."""
from accelsim.hw.config import (
    AdderArray,
    Buffers,
    Dataflow,
    Dram,
    HardwareConfig,
    MacArray,
    MultiplierArray,
    Sram,
    UnitClass,
)
from accelsim.hw.load import (
    dumps_hwconfig,
    hwconfig_from_dict,
    hwconfig_hash,
    hwconfig_to_dict,
    load_hwconfig,
    loads_hwconfig,
    override,
)

__all__ = [
    "AdderArray", "Buffers", "Dataflow", "Dram", "HardwareConfig", "MacArray",
    "MultiplierArray", "Sram", "UnitClass", "dumps_hwconfig", "hwconfig_from_dict",
    "hwconfig_hash", "hwconfig_to_dict", "load_hwconfig", "loads_hwconfig", "override",
]
