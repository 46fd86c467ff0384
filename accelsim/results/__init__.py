"""Result records (plain rows), energy pricing, tables (pandas) and figures (matplotlib)."""
from accelsim.results.energy import layer_energy, price
from accelsim.results.records import STALL_CAUSES, LayerRecord, Result

__all__ = ["STALL_CAUSES", "LayerRecord", "Result", "layer_energy", "price"]
