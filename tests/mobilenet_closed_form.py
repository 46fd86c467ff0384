"""Closed-form MobileNet-V1 counts written straight from the formulas of docs/accounting.md (no
accelsim code), used to check the analytic models and the paper table independently of the
workload builder."""
from __future__ import annotations


def mobilenet_layers(width: float = 0.5, res: int = 224):
    """(kind, c_in, c_out, kernel, out_hw) for conv1, 13 x (dw, pw), fc."""
    c = lambda x: int(x * width)
    h = res // 2
    layers = [("conv", 3, c(32), 3, h)]
    cfg = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2)] + [(512, 1)] * 5 + \
          [(1024, 2), (1024, 1)]
    cin = c(32)
    for co, s in cfg:
        h //= s
        layers.append(("dw", cin, cin, 3, h))
        layers.append(("pw", cin, c(co), 1, h))
        cin = c(co)
    layers.append(("fc", cin, 1000, 1, 1))
    return layers


def paper_counts(variant: str, alpha: float = 0.0, r_factor: float = 1.0, fc_hidden: int = 512,
                 fp_bytes: int = 2) -> dict:
    """MACs, muls, adds and size in bits with the paper's fractional hidden width."""
    macs = muls = adds = 0.0
    bits = 0.0
    for kind, ci, co, k, h in mobilenet_layers():
        hw = h * h
        terms = k * k * (1 if kind == "dw" else ci)
        if variant == "baseline":
            macs += co * hw * terms
            adds += co * hw
            bits += 16 * (co * terms + co)
        elif variant == "twn":
            adds += co * hw * terms
            bits += 2 * (co * terms + co)
        elif kind == "dw":
            macs += co * hw * terms
            adds += co * hw
            bits += fp_bytes * 8 * (co * terms + co)
        else:
            c_fp = 0 if kind == "fc" else int(alpha * co)
            c_rem = co - c_fp
            r = fc_hidden if kind == "fc" else r_factor * c_rem
            macs += c_fp * hw * terms
            muls += r * hw
            adds += r * hw * terms + c_rem * r * hw + co * hw
            bits += fp_bytes * 8 * (c_fp * terms + co + r) + 2 * (r * terms + c_rem * r)
    return {"macs": macs, "muls": muls, "adds": adds, "bits": bits}
