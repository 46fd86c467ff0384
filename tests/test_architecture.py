"""The import rules of docs/architecture.md, checked on the source (every import statement,
function-local and TYPE_CHECKING ones included).

* Each package sits on a floor and imports only its own floor or lower ones; within a floor,
  only the pairs listed in ``SIDEWAYS`` (data flows one way).
* No module imports another that (directly or not) imports it back: the module graph is a DAG.
* Heavy or special third-party packages stay where they belong: torch in ``reference``, numba in
  ``kernels``, SimPy in ``engine``, matplotlib in ``results`` figure modules.
"""
from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "accelsim"

#: Floors, lowest first: a package may import packages of its floor (see SIDEWAYS) or below.
FLOORS: tuple[tuple[str, ...], ...] = (
    ("accelsim", "errors", "fields", "choices", "data",    # base: errors, readers, closed sets,
     "limits", "documents", "outputs"),                    # limits, safe reading and writing
    ("workload", "hw", "published", "conventions", "kernels"),  # formats, data (and kernels)
    ("counts", "hbn", "routing", "results"),               # workload x hw rules; results (leaf)
    ("mapping",),                                          # layer -> tiles
    ("analytic", "engine"),                                # the models
    ("evaluate", "interop", "reference", "verify"),        # one entry point; side packages
    ("dse",),                                              # sweeps, store, allocation, Pareto
    ("study",),                                            # the paper's orchestration
    ("api",),                                              # the Python twins
    ("cli",),                                              # the thin shell
)
#: Imports allowed between packages of the same floor.
SIDEWAYS = {("verify", "reference"), ("fields", "errors"), ("choices", "errors"),
            ("fields", "limits"), ("limits", "errors"), ("documents", "errors"),
            ("documents", "limits"), ("outputs", "errors")}
#: Packages that must not import each other even where the floors would allow it.
FORBIDDEN = {("workload", "hw"), ("hw", "workload"), ("engine", "analytic"),
             ("kernels", "workload"), ("kernels", "hw")}
#: Where special third-party packages may be imported (package, or package.module).
THIRD_PARTY = {"torch": ("reference",), "numba": ("kernels",), "simpy": ("engine",),
               "matplotlib": ("results.plot", "results.training_plots")}


def _modules() -> dict[str, Path]:
    out = {}
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


MODULES = _modules()


def _imports(path: Path) -> list[tuple[str, int]]:
    """(imported module, line) of every import statement of a file."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                out.append((full if full in MODULES else node.module, node.lineno))
        elif isinstance(node, ast.Import):
            out.extend((alias.name, node.lineno) for alias in node.names)
    return out


def _package(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "accelsim"


def _floor(package: str) -> int:
    for i, floor in enumerate(FLOORS):
        if package in floor:
            return i
    raise AssertionError(f"package accelsim.{package} is on no floor of docs/architecture.md")


def test_every_package_has_a_floor():
    for module in MODULES:
        _floor(_package(module))


def test_imports_only_go_down_the_floors():
    bad = []
    for module, path in MODULES.items():
        src = _package(module)
        for target, line in _imports(path):
            if not target.startswith("accelsim"):
                continue
            dst = _package(target)
            if dst == src:
                continue
            where = f"{path.relative_to(ROOT.parent)}:{line}: {module} -> {target}"
            if (src, dst) in FORBIDDEN:
                bad.append(f"{where} (forbidden)")
            elif _floor(dst) > _floor(src) or (_floor(dst) == _floor(src)
                                                and (src, dst) not in SIDEWAYS):
                bad.append(f"{where} (goes up or sideways)")
    assert not bad, "\n".join(bad)


def test_module_graph_has_no_cycles():
    graph: dict[str, set[str]] = defaultdict(set)
    for module, path in MODULES.items():
        for target, _ in _imports(path):
            if target in MODULES and target != module:
                graph[module].add(target)
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for n in sorted(graph[m]):
            if state.get(n) == 1:
                cycle = stack[stack.index(n):] + [n]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if n not in state:
                visit(n)
        stack.pop()
        state[m] = 2

    for m in sorted(MODULES):
        if m not in state:
            visit(m)


@pytest.mark.parametrize("package", sorted(THIRD_PARTY))
def test_special_third_party_packages_stay_home(package):
    homes = THIRD_PARTY[package]
    bad = []
    for module, path in MODULES.items():
        rel = module.removeprefix("accelsim.")
        if any(rel == h or rel.startswith(h + ".") for h in homes):
            continue
        for target, line in _imports(path):
            if target.split(".")[0] == package:
                bad.append(f"{path.relative_to(ROOT.parent)}:{line}")
    assert not bad, f"{package} imported outside {homes}: {bad}"


def test_architecture_doc_lists_every_floor():
    text = (ROOT.parent / "docs" / "architecture.md").read_text(encoding="utf-8")
    for floor in FLOORS:
        for package in floor:
            if package not in ("accelsim", "data"):
                assert f"`{package}`" in text, f"docs/architecture.md does not place {package}"
