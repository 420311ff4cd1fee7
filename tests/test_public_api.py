"""The public import paths: every name the API reference lists resolves as written there, and every
path that worked before the package was reorganised into subpackages still works.

A name resolves the way a user's code reaches it: ``import fastnn`` then attribute by attribute,
importing a submodule only where the attribute is missing (as ``import fastnn.kernels.mlp``
would).  So ``fastnn.sweep.format_table`` does not resolve (``fastnn.sweep`` is the function),
even though ``from fastnn.sweep import format_table`` works.
"""
import importlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
API = ROOT / "docs" / "api.rst"


def resolve(dotted):
    """The object ``dotted`` names, reached attribute by attribute from its top-level package.

    Raises
    ------
    ImportError
        If a part is neither an attribute nor an importable submodule.
    """
    parts = dotted.split(".")
    obj = importlib.import_module(parts[0])
    for i, part in enumerate(parts[1:], start=1):
        if not hasattr(obj, part):
            try:
                importlib.import_module(".".join(parts[:i + 1]))
            except ImportError:
                pass
        if not hasattr(obj, part):
            raise ImportError(f"{dotted}: {'.'.join(parts[:i])} has no attribute {part!r}")
        obj = getattr(obj, part)
    return obj


def api_names(text):
    """The entries of every ``autosummary`` directive of an rst text (options and blanks skipped)."""
    names, inside = [], False
    for line in text.splitlines():
        if line.startswith(".. autosummary::"):
            inside = True
        elif inside and line.strip() and not line.startswith(" "):
            inside = False
        elif inside and line.strip() and not line.strip().startswith(":"):
            names.append(line.strip())
    return names


def test_the_reader_finds_the_entries():
    text = ".. autosummary::\n   :toctree: generated\n\n   fastnn.Network\n   fastnn.x\n\nProse\n   fastnn.y\n"
    assert api_names(text) == ["fastnn.Network", "fastnn.x"]
    names = api_names(API.read_text())
    assert "fastnn.Network" in names and "fastnn.kernels.mlp" in names and len(names) >= 20


@pytest.mark.parametrize("name", api_names(API.read_text()))
def test_every_name_of_the_api_reference_resolves(name):
    obj = resolve(name)
    assert getattr(obj, "__doc__", None), f"{name} has no docstring for the reference"


@pytest.mark.parametrize("name", ["fastnn.sweep.format_table", "fastnn.no_such_name",
                                  "fastnn.colorize.no_such_name"])
def test_a_name_that_does_not_resolve_fails(name):
    with pytest.raises(ImportError):
        resolve(name)


# -- the import paths that worked before the reorganisation --------------------------------

OLD_NAMES = [
    "fastnn.Network", "fastnn.Perceptron", "fastnn.LinearRegression", "fastnn.LogisticRegression",
    "fastnn.ModelFileError", "fastnn.DivergenceError", "fastnn.ConvergenceWarning", "fastnn.__version__",
    "fastnn.network.Network", "fastnn.mnist_loader.load_data_wrapper", "fastnn.datasets.load_dataset",
    "fastnn.sklearn.MLPClassifier", "fastnn.sklearn.MLPRegressor", "fastnn.plot.learning_curves",
    "fastnn.cli.main", "fastnn.cli.build_parser",
    # fastnn.colorize: its __all__ before it became a package, and its other public names
    "fastnn.colorize.Colorizer", "fastnn.colorize.read_image", "fastnn.colorize.image_files",
    "fastnn.colorize.lab_to_rgb", "fastnn.colorize.fit_baselines", "fastnn.colorize.evaluate",
    "fastnn.colorize.compare", "fastnn.colorize.format_table", "fastnn.colorize.bundled_photos",
    "fastnn.colorize.TRAIN_PHOTOS", "fastnn.colorize.TEST_PHOTOS", "fastnn.colorize.feature_count",
    "fastnn.colorize.CHROMA_RANGE", "fastnn.colorize.CONTEXT", "fastnn.colorize.GRAY_CHROMA",
    "fastnn.colorize.PREDICT_BATCH", "fastnn.colorize.GAMUT_TOL", "fastnn.colorize.GAMUT_STEPS",
    "fastnn.colorize.IMAGE_EXTENSIONS", "fastnn.colorize.FORMAT_NAME", "fastnn.colorize.FORMAT_VERSION",
    # fastnn.bench and fastnn.rivals: what the asv benchmarks, the tests and the guide use
    "fastnn.bench.synthetic_data", "fastnn.bench.load_data", "fastnn.bench.warm_up", "fastnn.bench.time_fit",
    "fastnn.bench.numpy_forward", "fastnn.bench.run_compare", "fastnn.bench.run_bench",
    "fastnn.bench.run_inference_bench", "fastnn.bench.format_compare", "fastnn.bench.jit_disagreements",
    "fastnn.bench.thread_choices", "fastnn.bench.cpu_model", "fastnn.bench.COMPARE_ENGINES",
    "fastnn.rivals.train_tuned_numpy", "fastnn.rivals.run_child", "fastnn.rivals.library_available",
    "fastnn.rivals.INSTALL_HINT",
    "fastnn.kernels.mlp", "fastnn.kernels.tiled", "fastnn.kernels.activations", "fastnn.kernels.linear",
    "fastnn.kernels.perceptron", "fastnn.reference.network_np", "fastnn.reference.matrix_np",
    "fastnn.reference.linear_np",
]


@pytest.mark.parametrize("name", OLD_NAMES)
def test_old_import_paths_still_work(name):
    resolve(name)


def test_the_sweep_function_and_its_helpers():
    import fastnn
    from fastnn.sweep import best_row, format_table  # the module's name before it became fastnn.sweeps
    from fastnn.sweeps import sweep

    assert callable(fastnn.sweep) and fastnn.sweep is sweep
    assert fastnn.sweeps.format_table is format_table and fastnn.sweeps.best_row is best_row
    import fastnn.sweep  # noqa: F401  (the old module name) does not replace the function
    assert fastnn.sweep is sweep


def test_rivals_is_the_module_of_the_bench_package():
    import fastnn.rivals
    from fastnn import bench

    assert fastnn.rivals is bench.rivals and sys.modules["fastnn.rivals"] is bench.rivals


def _run(*args):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT / "tests"), os.environ.get("PYTHONPATH")])))
    return subprocess.run(list(args), capture_output=True, text=True, timeout=300, env=env)


def test_python_dash_m_fastnn():
    import fastnn

    result = _run(sys.executable, "-m", "fastnn", "--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"fastnn {fastnn.__version__}"


def test_console_script():
    import fastnn

    script = Path(sys.executable).parent / ("fastnn.exe" if os.name == "nt" else "fastnn")
    if not script.exists():
        pytest.skip("the fastnn console script is not installed beside this Python")
    result = _run(str(script), "--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"fastnn {fastnn.__version__}"
    help_text = _run(str(script), "--help").stdout
    assert re.search(r"\{train,predict,demo,sweep,compare,bench,colorize,[a-z0-9,-]+\}", help_text)
