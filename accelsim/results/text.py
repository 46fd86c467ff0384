"""Plain-text tables for the terminal (no pandas needed)."""
from __future__ import annotations

from collections.abc import Sequence


def fmt_num(value: object, digits: int = 2) -> str:
    """One number as text, the same way everywhere: integers with thousands separators
    (``243,591``), floats with ``digits`` decimals and separators (``84,956.60``), floats of
    100,000 and more without decimals, ``-`` for None, ``n/a`` for NaN."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value != value:
            return "n/a"
        if abs(value) >= 1e5:
            return f"{value:,.0f}"
        return f"{value:,.{digits}f}"
    return str(value)


def table(headers: Sequence[str], rows: Sequence[Sequence[object]], digits: int = 2) -> str:
    """Right-aligned columns (left for the first), a rule under the header."""
    cells = [[fmt_num(v, digits) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h)
              for i, h in enumerate(headers)]

    def line(vals: Sequence[str]) -> str:
        return "  ".join(v.ljust(w) if i == 0 else v.rjust(w)
                         for i, (v, w) in enumerate(zip(vals, widths)))

    out = [line(headers), line(["-" * w for w in widths])]
    out += [line(r) for r in cells]
    return "\n".join(out)


def markdown(headers: Sequence[str], rows: Sequence[Sequence[object]], digits: int = 2) -> str:
    out = ["| " + " | ".join(headers) + " |",
           "|" + "|".join("---" for _ in headers) + "|"]
    for row in rows:
        out.append("| " + " | ".join(fmt_num(v, digits) for v in row) + " |")
    return "\n".join(out)
