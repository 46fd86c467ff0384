"""Closed-form models: the op-count models (``opcount``: balance and sequential), the paper's
balance bound and normalisation (``paper``), the MAC:adder allocation (``allocation``), and the
tile-level lower bound of the discrete-event engine (``bound``)."""
