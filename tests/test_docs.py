"""The documentation's code runs: every docstring example (doctest) and every Python block
of the user guide.

A guide block that cannot run here (it needs the book's ``mnist.pkl.gz`` or a Dask
cluster) is preceded by the line ``<!-- skip-test: reason -->``.  Blocks of one page run in
order in one namespace, like a reader typing them into one session, in a temporary folder.
"""
import doctest
import importlib
import pkgutil
import re
from pathlib import Path

import pytest

import fastnn

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.glob("guide/*.md")) + [DOCS / "index.md", DOCS / "errors.md", ROOT / "README.md"]
BLOCK = re.compile(r"^(?P<skip><!-- skip-test:[^>]*-->\n)?```python\n(?P<code>.*?)^```[ \t]*$",
                   re.M | re.S)


def python_blocks(text):
    """``(first line number, code, skipped)`` of every fenced ```python block of a page."""
    return [(text.count("\n", 0, m.start("code")) + 1, m.group("code"), bool(m.group("skip")))
            for m in BLOCK.finditer(text)]


def run_page(path):
    """Execute the page's blocks in order; return how many ran."""
    namespace = {"__name__": "__main__"}  # as a script a reader runs
    ran = 0
    for line, code, skipped in python_blocks(path.read_text()):
        if skipped:
            continue
        # pad so that tracebacks give the line numbers of the page
        exec(compile("\n" * (line - 1) + code, str(path), "exec"), namespace)
        ran += 1
    return ran


def test_block_reader():
    text = ("# t\n\n```python\nx = 1\n```\n\n<!-- skip-test: needs a file -->\n```python\n"
            "open('missing')\n```\n\n```sh\nls\n```\n")
    assert python_blocks(text) == [(4, "x = 1\n", False), (9, "open('missing')\n", True)]


def test_the_guide_has_pages_with_code():
    assert len(PAGES) >= 8
    runnable = [b for page in PAGES for b in python_blocks(page.read_text()) if not b[2]]
    assert len(runnable) >= 15


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_guide_page_code_runs(page, tmp_path, monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    monkeypatch.chdir(tmp_path)
    try:
        run_page(page)
    finally:
        import matplotlib.pyplot as plt

        plt.close("all")


def _modules_with_examples():
    names = ["fastnn"] + [m.name for m in pkgutil.walk_packages(fastnn.__path__, "fastnn.")
                          if not m.name.endswith("__main__")]
    finder = doctest.DocTestFinder(exclude_empty=True)
    found = []
    for name in names:
        tests = [t for t in finder.find(importlib.import_module(name)) if t.examples]
        if tests:
            found.append(name)
    return found


MODULES_WITH_EXAMPLES = _modules_with_examples()


def test_docstring_examples_are_found():
    assert {"fastnn", "fastnn.exceptions", "fastnn.network"} <= set(MODULES_WITH_EXAMPLES)


@pytest.mark.parametrize("name", MODULES_WITH_EXAMPLES)
def test_docstring_examples(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    module = importlib.import_module(name)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in doctest.DocTestFinder(exclude_empty=True).find(module):
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"
