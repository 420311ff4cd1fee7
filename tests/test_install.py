"""A non-editable install works on its own and ships no top-level `kernels` module."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

BOOK_SCRIPT = """
import numpy as np
from fastnn import datasets, network
X, y = datasets.load_digits()
training_data = datasets.to_book_format(X[:500], y[:500])
test_data = datasets.to_book_format(X[500:700], y[500:700], one_hot=False)
net = network.Network([64, 30, 10])
net.SGD(training_data, 2, 10, 3.0, test_data=test_data)
import fastnn.kernels.mlp
print("kernels at", fastnn.kernels.mlp.__file__)
"""


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """`pip install --no-deps --target DIR .`: a regular, non-editable install of this checkout
    (pip builds it in an isolated environment with a current setuptools)."""
    target = tmp_path_factory.mktemp("site")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps",
                    "--target", str(target), str(ROOT)], check=True, capture_output=True)
    return target


def _run(installed, *args):
    env = dict(os.environ, PYTHONPATH=str(installed), NUMBA_CACHE_DIR=str(installed / "numba-cache"))
    return subprocess.run([sys.executable, *args], cwd=installed.parent, env=env,
                          capture_output=True, text=True, timeout=300)


def test_install_layout(installed):
    assert (installed / "fastnn" / "kernels" / "mlp.py").is_file()
    assert not (installed / "kernels").exists()
    result = _run(installed, "-c", "import kernels")
    assert result.returncode != 0 and "No module named 'kernels'" in result.stderr


def test_installed_book_script_and_cli(installed):
    result = _run(installed, "-c", BOOK_SCRIPT)
    assert result.returncode == 0, result.stderr
    assert "Epoch 1: " in result.stdout
    assert str(installed) in result.stdout  # not the source tree
    result = _run(installed, "-m", "fastnn", "train", "--epochs", "1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1].startswith("Epoch 0: ")
