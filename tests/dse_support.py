"""Small workloads, configs and specs shared by the dse tests (not a test module)."""
from __future__ import annotations

import json
from pathlib import Path

import yaml

from accelsim.hw.load import hwconfig_to_dict, load_hwconfig
from accelsim.workload.build import (
    conv_out,
    fp_layer,
    strassen_layer,
    strassen_params,
    twn_layer,
)
from accelsim.workload.load import save_workload
from accelsim.workload.schema import Shape, Workload

ROOT = Path(__file__).resolve().parents[1]
PAPER_HW = ROOT / "hwconfigs" / "paper.yaml"
IAREA_HW = ROOT / "hwconfigs" / "iso_area_45nm.yaml"
WORKLOADS = ROOT / "workloads"


def _shape(h: int, c_in: int, c_out: int, k: int = 1, stride: int = 1, groups: int = 1
           ) -> Shape:
    pad = k // 2
    o = conv_out(h, k, stride, pad)
    return Shape(h, h, c_in, o, o, c_out, k, k, stride, pad, groups)


def tiny_workload(kind: str = "hybrid", h: int = 8) -> Workload:
    """Three layers: an fp stem, a depthwise layer and a ``kind`` (fp/twn/hybrid/strassen)
    pointwise layer; sizes small enough for a DES run in milliseconds."""
    stem = fp_layer("stem", "conv", _shape(h, 3, 16, 3, 2))
    o = stem.shape.out_h
    dw = fp_layer("dw", "depthwise", _shape(o, 16, 16, 3, 1, 16), inputs=("stem",))
    pw_shape = _shape(o, 16, 32)
    if kind == "fp":
        pw = fp_layer("pw", "conv", pw_shape, inputs=("dw",))
    elif kind == "twn":
        pw = twn_layer("pw", "conv", pw_shape, weight_nnz=16 * 32 // 2, inputs=("dw",))
    else:
        alpha = 0.5 if kind == "hybrid" else 0.0
        p = strassen_params(32, alpha=alpha, r_factor=1.0)
        pw = strassen_layer("pw", "conv", pw_shape, p, wb_nnz=p.r * 16 // 2,
                            wc_nnz=[[p.c_rem * p.r // 2]], inputs=("dw",))
    return Workload(name=f"tiny_{kind}", layers=(stem, dw, pw))


def write_inputs(tmp: Path, kinds: tuple[str, ...] = ("fp", "hybrid")) -> dict[str, Path]:
    """Tiny workloads as files in ``tmp`` (name -> path)."""
    out = {}
    for kind in kinds:
        path = tmp / f"tiny_{kind}.json"
        save_workload(tiny_workload(kind), path)
        out[kind] = path
    return out


def write_spec(tmp: Path, doc: dict, name: str = "spec.yaml") -> Path:
    path = tmp / name
    path.write_text(yaml.safe_dump(doc) if name.endswith(".yaml") else json.dumps(doc))
    return path


def paper_doc() -> dict:
    return hwconfig_to_dict(load_hwconfig(PAPER_HW))
