"""Sphinx configuration of fastnn's documentation.

Build from the installed package, with ``docs/`` as the working directory or with
``python -P`` (the repository's ``fastnn/`` folder lacks ``fastnn.kernels``, which only
exists once installed):

    python -m pip install -e ".[docs]"
    python -P -m sphinx -W -n --keep-going -b html docs docs/_build/html

Everything is offline: no intersphinx inventories are fetched and the theme's assets are
local.  The gallery (``examples/``) is executed on every build.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))  # the small local extensions below, never the package

import fastnn  # noqa: E402  (the installed package)
from asv_history import write_history  # noqa: E402

# the committed asv results as plain tables (guide/development.md includes them)
write_history(HERE.parent / "asv_benchmarks" / "results", HERE / "generated" / "benchmark-history.md")

project = "fastnn"
author = "the fastnn developers"
copyright = "fastnn developers"
version = release = fastnn.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
    "sphinxarg.ext",
    "sphinx_design",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "_ext", "**/README.md", "sg_execution_times.rst",
                    "generated/benchmark-history.md"]  # included by guide/development.md
templates_path = ["_templates"]
nitpicky = True  # the CI build also passes -n
# performance.md starts at "##" (it was written for GitHub); its first heading is still the title
suppress_warnings = ["myst.header"]

# -- API reference -------------------------------------------------------------------------
autosummary_generate = True
autosummary_ignore_module_all = False      # a module's __all__ is its public API
autosummary_imported_members = False
# Names documented once, at the top level (``fastnn.Network``) or on the Errors page, are
# not repeated on the pages of the modules that define them.  A name is left out only where
# it is the same object as the top-level one: ``fastnn.network3.Network`` (chapter 6's
# network, another class of the same name) keeps its entry.


def _top_level_objects_by_module():
    """For each fastnn module, its names that are the very objects of ``fastnn.__all__``."""
    import importlib
    import pkgutil

    found = {}
    for info in pkgutil.walk_packages(fastnn.__path__, "fastnn."):
        if any(part.startswith("_") for part in info.name.split(".")):
            continue
        try:
            module = importlib.import_module(info.name)
        except ImportError:  # an optional dependency is missing: its page is not built either
            continue
        same = [name for name in fastnn.__all__ if getattr(module, name, None) is getattr(fastnn, name)]
        if same:
            found[info.name] = sorted(same)
    return found


autosummary_context = {"documented_elsewhere": _top_level_objects_by_module()}
autodoc_typehints = "none"
numpydoc_show_class_members = False        # class pages list members through autosummary
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
numpydoc_validation_checks = set()

# -- Markdown pages ------------------------------------------------------------------------
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

# -- gallery -------------------------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",          # run every plot_*.py
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
    "image_scrapers": ("matplotlib", "figures_in_globals"),  # docs/_ext/figures_in_globals.py
    "reset_modules": ("matplotlib",),
    "show_memory": False,
    "abort_on_example_error": True,
    "doc_module": ("fastnn",),
    "reference_url": {"fastnn": None},        # links into this site only (offline)
    "backreferences_dir": "generated/backreferences",
    "min_reported_time": 10**9,              # no "Total running time" noise in the pages
    "write_computation_times": False,        # that page loads DataTables from a CDN
}

# -- HTML ----------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"fastnn {release}"
html_static_path = []
html_show_sourcelink = False
html_sidebars = {"errors": [], "performance": []}   # single pages: no empty section navigation
html_theme_options = {
    "navbar_align": "left",
    "show_toc_level": 2,
    "navigation_with_keys": False,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
html_context = {"default_mode": "light"}
os.environ.setdefault("MPLBACKEND", "Agg")


def skip_inherited_foreign_members(app, what, name, obj, skip, options):
    """Leave out class members that scikit-learn defines (``set_fit_request`` and the like).

    Their docstrings point into scikit-learn's documentation, which this offline build
    cannot link to; the estimators' own pages say which scikit-learn API they follow.
    """
    if what != "class":
        return None
    module = getattr(getattr(obj, "fget", obj), "__module__", None)
    if module and module != "builtins" and not module.startswith("fastnn"):
        return True
    return None


ASV_DIR = HERE.parent / "asv_benchmarks"


def _git(*args):
    return subprocess.run(["git", *args], cwd=ASV_DIR, capture_output=True, text=True)


def _results_commits():
    """Commit hashes of the committed results, newest first."""
    runs = [json.loads(p.read_text()) for p in (ASV_DIR / "results").glob("*/*.json")
            if p.name != "machine.json"]
    return [run["commit_hash"] for run in sorted(runs, key=lambda run: -run["date"])]


def _asv_config(scratch):
    """asv.conf.json, or a copy at ``scratch`` whose branch holds every committed result.

    asv draws the commits on each configured branch's first-parent history.  When results
    lie elsewhere (a clone of another branch has no local ``main``; a branch merged into main
    is not on main's first-parent line), the copy follows the newest result commit instead.
    """
    config = ASV_DIR / "asv.conf.json"
    settings = json.loads(config.read_text())
    commits = _results_commits()
    for branch in settings.get("branches", ["main"]):
        history = _git("rev-list", "--first-parent", f"refs/heads/{branch}", "--")
        if history.returncode == 0 and set(commits) <= set(history.stdout.split()):
            return config
    for key in ("repo", "benchmark_dir", "env_dir", "results_dir", "html_dir"):
        if key in settings:
            settings[key] = str((ASV_DIR / settings[key]).resolve())
    settings["branches"] = commits[:1] or ["HEAD"]
    scratch.parent.mkdir(parents=True, exist_ok=True)
    scratch.write_text(json.dumps(settings, indent=4))
    return scratch


def publish_asv_report(app, exception):
    """Write asv's report of the committed benchmark results to ``<site>/asv/``.

    ``asv publish`` only reads ``asv_benchmarks/results/`` and the git history (no
    benchmark runs, no network) and takes seconds.  ``performance.md`` links the report.
    """
    if exception is not None or app.builder.name != "html":
        return
    if not (ASV_DIR / "results" / "benchmarks.json").is_file():
        return  # nothing committed: the development page says so
    unknown = [c for c in _results_commits() if _git("cat-file", "-e", f"{c}^{{commit}}").returncode]
    if unknown:  # e.g. results of a branch that was squashed: asv cannot place them
        print(f"asv report skipped: results of commits not in this repository: {unknown}")
        return
    asv = Path(sys.executable).with_name("asv")
    command = [str(asv), "publish", "--no-pull", "--html-dir", str(Path(app.outdir) / "asv"),
               "--config", str(_asv_config(Path(app.outdir).parent / "asv.conf.json"))]
    done = subprocess.run(command, cwd=ASV_DIR, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout}{done.stderr}")


def setup(app):
    app.connect("autodoc-skip-member", skip_inherited_foreign_members)
    app.connect("build-finished", publish_asv_report)
