"""What users see when things go wrong: public exception classes, documented, and ``--version``."""
import gzip
import importlib
import inspect
import os
import pickle
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import fastnn
import fastnn.exceptions

ROOT = Path(__file__).resolve().parents[1]


def fastnn_modules():
    """Every module of the installed package (kernels and references included)."""
    names = ["fastnn"] + [m.name for m in pkgutil.walk_packages(fastnn.__path__, "fastnn.")
                          if not m.name.endswith("__main__")]
    return [importlib.import_module(name) for name in names]


def exception_classes():
    """Every exception or warning class that a fastnn module defines or holds."""
    found = set()
    for module in fastnn_modules():
        for value in vars(module).values():
            if inspect.isclass(value) and issubclass(value, BaseException) \
                    and value.__module__.startswith("fastnn"):
                found.add(value)
    return found


def test_the_scan_finds_the_known_classes():
    names = {cls.__name__ for cls in exception_classes()}
    assert {"ModelFileError", "DivergenceError", "UnsafePickleError", "ConvergenceWarning"} <= names


@pytest.mark.parametrize("cls", sorted(exception_classes(), key=lambda c: c.__name__),
                         ids=lambda c: c.__name__)
def test_every_exception_is_public_and_importable_from_fastnn(cls):
    assert not cls.__name__.startswith("_")
    assert cls.__module__ == "fastnn.exceptions"
    assert getattr(fastnn, cls.__name__) is cls
    assert cls.__name__ in fastnn.__all__ and cls.__name__ in fastnn.exceptions.__all__


@pytest.mark.parametrize("name", fastnn.exceptions.__all__)
def test_every_exception_is_on_the_errors_page(name):
    page = (ROOT / "docs" / "errors.md").read_text()
    assert f"fastnn.{name}" in page


def test_old_homes_hold_the_same_classes():
    from fastnn import _guards, _validation, linear, persistence

    assert persistence.ModelFileError is fastnn.ModelFileError
    assert _guards.DivergenceError is fastnn.DivergenceError
    assert _guards.DivergenceWarning is fastnn.DivergenceWarning
    assert _validation.UnscaledInputWarning is fastnn.UnscaledInputWarning
    assert linear.ConvergenceWarning is fastnn.ConvergenceWarning


def test_errors_subclass_what_callers_already_catch():
    assert issubclass(fastnn.ModelFileError, ValueError)
    assert issubclass(fastnn.DivergenceError, ValueError)
    assert issubclass(fastnn.UnsafePickleError, pickle.UnpicklingError)
    assert issubclass(fastnn.UnsafePickleError, ValueError)  # the command line exits with status 2
    assert issubclass(fastnn.ConvergenceWarning, UserWarning)
    assert issubclass(fastnn.DivergenceWarning, RuntimeWarning)
    assert issubclass(fastnn.UnscaledInputWarning, UserWarning)


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo should-never-run",))


def test_a_rejected_pickle_raises_the_public_class(tmp_path):
    path = tmp_path / "mnist.pkl.gz"
    with gzip.open(path, "wb") as f:
        pickle.dump(_Evil(), f, protocol=2)
    with pytest.raises(fastnn.UnsafePickleError, match=r"forbidden global .*system") as info:
        fastnn.datasets.load_mnist_pkl(path)
    assert type(info.value) is fastnn.UnsafePickleError


def test_version_flag_prints_the_version(capsys):
    from fastnn.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"fastnn {fastnn.__version__}"


def test_version_matches_the_installed_metadata():
    from importlib.metadata import version

    assert fastnn.__version__ == version("fastnn")


def test_version_of_the_installed_command():
    fastnn_cmd = Path(sys.executable).with_name("fastnn")
    if not fastnn_cmd.exists():
        pytest.skip("the fastnn command is not installed next to this interpreter")
    out = subprocess.run([str(fastnn_cmd), "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == f"fastnn {fastnn.__version__}"
