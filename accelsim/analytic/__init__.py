"""Closed-form models: the paper's balance bound, the op-count sequential model, the MAC:adder
allocation, and (in ``bound``) the tile-level lower bound of the discrete-event engine."""
