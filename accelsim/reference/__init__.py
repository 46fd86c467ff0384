"""The PyTorch reference model: ternary / strassenified / hybrid layers, MobileNet-V1 and
ResNet-20/18, and tracing into workload files. The only package of accelsim that imports torch.

Importing this package (or :mod:`accelsim.reference.spec`, :mod:`accelsim.reference.entry`) does
not import torch; the modules ``quant``, ``layers``, ``models`` and ``trace`` do.
"""
from accelsim.reference.spec import ModelSpec, TorchMissingError, require_torch

__all__ = ["ModelSpec", "TorchMissingError", "require_torch"]
