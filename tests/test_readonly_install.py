"""A read-only installation still runs: numba caches in the user's cache directory.

fastnn is installed non-editable into a directory that is then made read-only
(``chmod -R a-w``).  A fit then runs without ``NUMBA_CACHE_DIR``: numba cannot
write ``__pycache__`` next to the kernels and must fall back to its user-wide
cache (``$XDG_CACHE_HOME/numba`` or ``~/.cache/numba``).  The test checks the
run succeeds, that index files landed in the user cache, and that nothing was
written into the installation.  As root, file permissions do not stop writes,
so the child runs as the unprivileged user ``nobody`` (``setpriv``).
"""
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

TRAIN = """
import numpy as np
from fastnn import Network
rng = np.random.default_rng(0)
X, y = rng.random((60, 5)), rng.integers(0, 3, 60)
net = Network([5, 4, 3], seed=0).fit(X, y, epochs=2)
"""
SCRIPT = TRAIN + """
import fastnn
print("params", net._theta.tobytes().hex())
print("score", repr(net.score(X, y)))
print("installed at", fastnn.__file__)
"""


def _unprivileged_prefix():
    """Command prefix running as `nobody` when we are root, or [] when we are not root."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: permissions cannot make a directory read-only")
    probe = subprocess.run([setpriv, "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                            sys.executable, "-c", "import numba"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip(f"cannot run Python as user nobody here: {probe.stderr.strip()[-300:]}")
    return [setpriv, "--reuid=nobody", "--regid=nogroup", "--clear-groups"]


def _files(directory, pattern):
    return sorted(str(p.relative_to(directory)) for p in Path(directory).rglob(pattern))


@pytest.fixture(scope="module")
def readonly_install():
    # outside pytest's private tmp dirs (mode 0700), so that `nobody` can read it
    base = Path(tempfile.mkdtemp(prefix="fastnn-ro-", dir="/tmp"))
    os.chmod(base, 0o755)
    site = base / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target",
                    str(site), str(ROOT)], check=True, capture_output=True)
    for path in [site, *site.rglob("*")]:  # chmod -R a-w
        mode = path.stat().st_mode
        os.chmod(path, mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH), follow_symlinks=False)
    yield base, site
    for path in [site, *site.rglob("*")]:
        os.chmod(path, path.stat().st_mode | stat.S_IWUSR, follow_symlinks=False)
    shutil.rmtree(base, ignore_errors=True)


def test_fit_runs_and_caches_in_the_user_cache(readonly_install):
    base, site = readonly_install
    prefix = _unprivileged_prefix()
    home = base / "home"
    cache = home / ".cache"
    cache.mkdir(parents=True)
    os.chmod(home, 0o777)
    os.chmod(cache, 0o777)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NUMBA_", "PYTHON"))}
    env.update(PYTHONPATH=str(site), HOME=str(home), XDG_CACHE_HOME=str(cache),
               PYTHONDONTWRITEBYTECODE="1")
    before = _files(site, "*")
    result = subprocess.run([*prefix, sys.executable, "-c", SCRIPT], cwd=base, env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"installed at {site}" in result.stdout
    # the read-only install computes exactly what this checkout computes
    here = {}
    exec(TRAIN, here)
    assert f"params {here['net']._theta.tobytes().hex()}" in result.stdout
    assert f"score {here['net'].score(here['X'], here['y'])!r}" in result.stdout
    assert _files(site, "*") == before, "something was written into the read-only installation"
    index = _files(cache, "*.nbi")
    assert any("mlp" in f or "tiled" in f for f in index), f"no kernel cached in {cache}: {index}"
    print("numba user cache:", len(index), "index files, e.g.", index[:2])
