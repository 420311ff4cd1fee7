"""The package's modules form layers: no module imports, even lazily inside a
function, a module that (directly or through others) imports it back.

The graph is read from the source with ``ast``, so imports inside functions
count too (they are how import circles usually hide).  ``kernels/`` is
installed as ``fastnn.kernels`` and is read under that name.
"""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _packages():
    """``{package: folder}``: ``fastnn``, every subpackage of it (a folder with an ``__init__.py``,
    found, not listed, so a new one is covered) and ``kernels/`` as ``fastnn.kernels``."""
    found = {"fastnn": ROOT / "fastnn", "fastnn.kernels": ROOT / "kernels"}
    for init in sorted((ROOT / "fastnn").rglob("__init__.py")):
        folder = init.parent
        if folder != ROOT / "fastnn":
            found[".".join(("fastnn",) + folder.relative_to(ROOT / "fastnn").parts)] = folder
    return found


PACKAGES = _packages()


def module_files():
    """``{dotted module name: path}`` of every module of the package."""
    files = {}
    for package, folder in PACKAGES.items():
        for path in sorted(folder.glob("*.py")):
            name = package if path.stem == "__init__" else f"{package}.{path.stem}"
            files[name] = path
    return files


def _resolve(module, node, known):
    """Names of the package's modules imported by one ``import``/``from`` node of ``module``."""
    if isinstance(node, ast.Import):
        bases = [alias.name for alias in node.names]
        return [b for b in bases if b in known]
    package = module if module in PACKAGES else module.rsplit(".", 1)[0]
    if node.level:
        parts = package.split(".")
        base = ".".join(parts[:len(parts) - node.level + 1])
        base = f"{base}.{node.module}" if node.module else base
    else:
        base = node.module or ""
    found = []
    for alias in node.names:
        if f"{base}.{alias.name}" in known:       # `from . import training`
            found.append(f"{base}.{alias.name}")
        elif base in known:                       # `from .network import Network`
            found.append(base)
    return found


def import_graph():
    """``{module: set of the package's modules it imports}`` (top level and inside functions)."""
    files = module_files()
    graph = {}
    for module, path in files.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        edges = set()
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                edges.update(_resolve(module, node, files))
        edges.discard(module)
        graph[module] = edges
    return graph


def find_cycle(graph):
    """One import cycle as a list of modules (first == last), or None."""
    state = {}

    def visit(node, stack):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                cycle = visit(nxt, stack)
                if cycle:
                    return cycle
        stack.pop()
        state[node] = "done"
        return None

    for start in sorted(graph):
        if start not in state:
            cycle = visit(start, [])
            if cycle:
                return cycle
    return None


def test_graph_reader_sees_lazy_and_relative_imports():
    graph = import_graph()
    assert "fastnn.network" in graph["fastnn"]                  # from .network import Network
    assert "fastnn.linear" in graph["fastnn"]                   # inside __getattr__
    assert "fastnn.kernels.tiled" in graph["fastnn.engines"]    # from .kernels import mlp, tiled
    assert "fastnn.kernels.activations" in graph["fastnn.kernels.mlp"]


def test_find_cycle_finds_a_planted_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_packages_include_the_subpackages():
    assert {"fastnn.reference", "fastnn.cli", "fastnn.colorize", "fastnn.bench"} <= set(PACKAGES)


def test_no_import_cycles():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


@pytest.mark.parametrize("module", ["fastnn.reference.network_np", "fastnn.reference.matrix_np",
                                    "fastnn.reference.linear_np", "fastnn.reference.network3_np"])
def test_references_do_not_import_the_kernels(module):
    assert not any(m.startswith("fastnn.kernels") for m in import_graph()[module])
