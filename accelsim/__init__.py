"""accelsim: cycle-level and analytic simulation of area-budgeted fp16 MAC / adder accelerators
running baseline, TWN, StrassenNets and hybrid-filter-bank networks.

Data flows one way: workload file -> hardware config -> mapping -> engine -> results -> report.
The Python API is :mod:`accelsim.api`; the command line (``accelsim``) is a thin shell over it.
"""
__version__ = "0.1.0"
