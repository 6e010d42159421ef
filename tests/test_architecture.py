"""The package's folders are its layers: no import circles, no import from a layer above.

Layers, bottom to top (``ARCHITECTURE.md``)::

    foundation   errors, units           (everything may import these)
    state        arrays and invariants
    chain        the protocol's mechanisms and presets
    agents       behaviour acting through the chain
    io           file formats, the live chain, the result store
    experiments  configuration, scenario driver, runs
    cli          the command line

Every ``import`` in every module counts, also the ones inside functions; ``dtaosim/__init__.py``
is the curated public facade on top of all layers and is not itself a layer.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "dtaosim"

LAYERS = ["foundation", "state", "chain", "agents", "io", "experiments", "report", "cli"]
FOUNDATION = {"dtaosim.errors", "dtaosim.units"}


def module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def layer_of(module: str) -> str:
    if module in FOUNDATION:
        return "foundation"
    parts = module.split(".")
    if len(parts) < 2 or parts[1] not in LAYERS:
        raise AssertionError(f"{module} is in no layer: put it in one of {LAYERS[1:]}")
    return parts[1]


def imports_of(path: Path, module: str) -> set[str]:
    """Every dtaosim module ``path`` imports (absolute or relative, at any depth)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "dtaosim"}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "dtaosim":
                continue
            # `from dtaosim.io import snapshot` imports the module dtaosim.io.snapshot
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                found.add(sub if _is_module(sub) else target)
    return found


def _is_module(name: str) -> bool:
    rel = Path(*name.split(".")[1:])
    return (PACKAGE / rel).with_suffix(".py").is_file() or (PACKAGE / rel / "__init__.py").is_file()


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        mod = module_name(path)
        if mod == "dtaosim":
            continue  # the public facade
        graph[mod] = {m for m in imports_of(path, mod) if m != "dtaosim"}
    return graph


def test_the_walker_sees_imports() -> None:
    graph = _graph()
    assert "dtaosim.state.chain_state" in graph["dtaosim.chain.kernel"] or any(
        m.startswith("dtaosim.chain.") for m in graph["dtaosim.chain.kernel"])
    assert "dtaosim.chain.engine" in graph["dtaosim.experiments.simulation"]
    assert len(graph) > 40


def test_every_module_is_in_a_layer() -> None:
    for mod in _graph():
        layer_of(mod)


def test_no_upward_imports() -> None:
    bad = []
    for mod, deps in _graph().items():
        mine = LAYERS.index(layer_of(mod))
        for dep in sorted(deps):
            if dep == "dtaosim":
                bad.append(f"{mod} imports the facade dtaosim (import from the layer instead)")
                continue
            theirs = LAYERS.index(layer_of(dep))
            if theirs > mine:
                bad.append(f"{mod} ({layer_of(mod)}) imports {dep} ({layer_of(dep)})")
    assert not bad, "upward imports:\n" + "\n".join(bad)


def test_no_import_cycles() -> None:
    graph = _graph()
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for d in sorted(graph.get(m, ())):
            if d not in graph:
                continue
            if state.get(d) == 1:
                cycles.append([*stack[stack.index(d):], d])
            elif d not in state:
                visit(d)
        stack.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m)
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


@pytest.mark.parametrize("bad", [
    "from dtaosim.cli.app import app\n",
    "def f():\n    from dtaosim.experiments.run import execute_run\n",
])
def test_an_upward_import_is_caught(tmp_path: Path, bad: str) -> None:
    """The walker finds module-level and function-level imports (the check can fail)."""
    src = PACKAGE / "chain" / "kernel.py"
    fake = tmp_path / "kernel.py"
    fake.write_text(bad)
    deps = imports_of(fake, "dtaosim.chain.kernel")
    assert deps and all(LAYERS.index(layer_of(d)) > LAYERS.index("chain") for d in deps)
    assert src.is_file()
