"""Functional verification of the numba kernels against the torch reference model
(``accelsim verify``). Importing this package imports neither torch nor numba."""
from accelsim.verify.report import LayerCheck, StageCheck, VerifyReport
from accelsim.verify.run import verify

__all__ = ["LayerCheck", "StageCheck", "VerifyReport", "verify"]
