"""Rules of the package's layout, read from the source with ``ast`` (as tests/test_layering.py does).

* Only ``fastnn.cli`` (the command line) imports ``argparse``: the library modules know nothing
  of the command line, so they can be used, tested and documented without it.
* No private name crosses a module line: a module uses another module's ``_name`` only if that
  other module is itself a private helper made for sharing (``fastnn._validation``,
  ``fastnn.cli._args``, ...).  Both ``from .x import _name`` and ``x._name`` after
  ``from . import x`` count.  Dunder names (``__version__``) are public.
"""
import ast

import pytest

from test_layering import PACKAGES, _resolve, module_files


def _private(name):
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _is_helper(module):
    """A private helper module (``fastnn._validation``) or a module inside one."""
    return any(_private(part) for part in module.split(".")[1:])


def _imports_argparse(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and any(a.name.split(".")[0] == "argparse" for a in node.names):
            return True
        if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").split(".")[0] == "argparse":
            return True
    return False


def argparse_importers(files):
    """Modules that import argparse, even inside a function."""
    return sorted(m for m, path in files.items() if _imports_argparse(ast.parse(path.read_text())))


def private_crossings(files):
    """``(module, "other._name")`` for every private name of another, non-helper module it uses."""
    found = []
    for module, path in files.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        bound = {}  # local name -> package module it is bound to
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                for alias in node.names:
                    targets = _resolve(module, ast.ImportFrom(module=node.module, names=[alias], level=node.level),
                                       files)
                    for target in targets:
                        if target.endswith("." + alias.name) or target == alias.name:  # `from . import x`
                            bound[alias.asname or alias.name] = target
                        elif _private(alias.name) and target != module and not _is_helper(target):
                            found.append((module, f"{target}.{alias.name}"))
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name in files and alias.asname:
                        bound[alias.asname] = alias.name
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and _private(node.attr):
                target = bound.get(node.value.id)
                if target and target != module and not _is_helper(target):
                    found.append((module, f"{target}.{node.attr}"))
    return sorted(set(found))


def test_only_the_cli_imports_argparse():
    files = module_files()
    assert "fastnn.cli" in files and "fastnn.cli.train" in files
    outside = [m for m in argparse_importers(files) if m != "fastnn.cli" and not m.startswith("fastnn.cli.")]
    assert outside == [], f"modules outside fastnn.cli import argparse: {outside}"


def test_argparse_reader_sees_every_form(tmp_path):
    sources = {"plain": "import argparse", "dotted": "import argparse as ap",
               "from": "from argparse import ArgumentParser", "lazy": "def f():\n    import argparse\n"}
    for name, text in sources.items():
        assert _imports_argparse(ast.parse(text)), name
    assert not _imports_argparse(ast.parse("from .argparse_like import x\nimport argparsex"))


def test_no_private_name_crosses_module_lines():
    crossings = private_crossings(module_files())
    assert crossings == [], "private names used across modules (make them public or move them " \
                            "into a _helper module): " + ", ".join(f"{m} uses {n}" for m, n in crossings)


@pytest.mark.parametrize("source, expected", [
    ("from .training import _NoBar", [("fastnn.sweeps", "fastnn.training._NoBar")]),
    ("from . import training\nx = training._NoBar", [("fastnn.sweeps", "fastnn.training._NoBar")]),
    ("from ._validation import _as_array", []),            # a helper made for sharing
    ("from . import _validation as v\nx = v._as_array", []),
    ("from ._version import __version__", []),            # dunder: public
    ("from .training import make_progress", []),
])
def test_private_crossing_reader(tmp_path, source, expected):
    files = module_files()
    path = tmp_path / "sweeps.py"
    path.write_text(source)
    assert private_crossings({**files, "fastnn.sweeps": path}) == sorted(
        set(expected) | set(private_crossings({k: v for k, v in files.items() if k != "fastnn.sweeps"})))


def test_every_subpackage_is_installed():
    """pyproject.toml's explicit ``packages`` list names every package the layering test finds."""
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+

    from test_layering import ROOT

    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    assert listed == set(PACKAGES)
