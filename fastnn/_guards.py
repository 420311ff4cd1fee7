"""Guards that keep a network's parameters finite and consistent, and its outputs honest.

* :class:`ParameterGuard` snapshots the flat parameter buffer at the start of
  an epoch; after every compiled chunk of mini-batches it checks that the
  parameters are still finite (``np.isfinite``: a few microseconds for book
  sized networks).  On divergence (NaN or inf parameters, or a NaN cost) it
  restores the snapshot and raises :class:`DivergenceError`, so a network
  never silently holds NaN.  When a huge learning rate saturates the
  sigmoids instead (outputs exactly 0 or 1, gradients 0), it warns with
  :class:`DivergenceWarning`.
* :func:`check_outputs` refuses to return NaN activations (an overflow such as
  inf - inf inside a weighted sum of huge inputs) as if they were predictions.
* :func:`parallel_section` serialises calls into ``parallel=True`` kernels when
  Numba runs on its ``workqueue`` threading layer, which aborts the process if
  two Python threads launch parallel regions at once (``tbb`` and ``omp`` are
  thread-safe and are not locked).
"""
import contextlib
import threading
import warnings

import numpy as np

from ._stacklevel import outside_fastnn
from .exceptions import DivergenceError, DivergenceWarning


SATURATION_PROBE = 256
"""Training rows fed forward after each epoch to look for saturation."""

SATURATION_LIMIT = 0.5
"""Warn when at least this fraction of the probe's output activations is exactly 0 or 1."""


class ParameterGuard:
    """Snapshot of a flat parameter buffer, restored when training diverges.

    Parameters
    ----------
    theta : ndarray
        The network's flat parameter buffer (trained in place).
    """

    def __init__(self, theta):
        self.theta = theta
        self.saved = theta.copy()
        self.warned = False

    def commit(self):
        """Take the current parameters as the new snapshot (e.g. at the start of an epoch)."""
        self.saved[...] = self.theta

    def restore(self):
        """Put the snapshot back into the buffer."""
        self.theta[...] = self.saved

    def check_parameters(self, epoch, eta, samples_done, n_samples):
        """Raise :class:`DivergenceError` (after restoring) if a parameter is NaN or inf."""
        if np.isfinite(self.theta).all():
            return
        bad = "NaN" if np.isnan(self.theta).any() else "infinite"
        self._fail(epoch, f"the parameters became {bad} after {samples_done} of its {n_samples} "
                          f"samples", eta)

    def check_cost(self, epoch, eta, record):
        """Raise :class:`DivergenceError` (after restoring) for a NaN cost in ``record``.

        An infinite cost is not divergence: network2.py's cross-entropy turns
        log(0) of a saturated output into a huge finite number (nan_to_num),
        and a sum of a few of them is inf.  NaN means NaN outputs (inf - inf in
        a weighted sum) or an L2 term that overflowed (0 * inf).
        """
        for key in ("training_cost", "validation_cost"):
            value = record.get(key)
            if value is not None and np.isnan(value):
                self._fail(epoch, f"the {key.replace('_', ' ')} became {value}", eta)

    def warn_if_saturated(self, outputs, epoch, eta):
        """Warn (once per guard) if most ``outputs`` of the probe rows are exactly 0 or 1.

        A trained network rarely outputs exactly 0.0 or 1.0 (sigma(z) == 1.0
        needs z > 37 in float64, 0.0 needs z < -745), so a majority of such
        outputs means the weights exploded and the gradients vanished.
        """
        if self.warned or outputs.size == 0:
            return
        saturated = float(np.mean((outputs == 0) | (outputs == 1)))
        if saturated >= SATURATION_LIMIT:
            self.warned = True
            warnings.warn(
                f"training diverged in epoch {epoch}: {saturated:.0%} of the output activations "
                f"are saturated at exactly 0 or 1 (largest |parameter| "
                f"{float(np.abs(self.theta).max()):.3g}), so the gradients vanished and training "
                f"cannot progress. eta={eta:g} is probably far too large", DivergenceWarning,
                stacklevel=outside_fastnn())

    def _fail(self, epoch, cause, eta):
        self.restore()
        raise DivergenceError(
            f"training diverged in epoch {epoch}: {cause} (eta={eta:g}). The network keeps its "
            f"last finite parameters, those from the start of epoch {epoch}. Lower eta, or "
            f"scale the inputs to about [0, 1]", epoch)


def check_outputs(out, name="X"):
    """Return ``out`` if every activation is finite, else raise ValueError.

    Finite parameters and inputs can still overflow (a weighted sum of values
    near the float maximum gives inf - inf = NaN); such outputs are refused.
    """
    if not np.isfinite(out).all():
        raise ValueError(f"the network's outputs for {name} are not finite: a weighted sum "
                         f"overflowed. Scale {name} (and check the parameters) to moderate values")
    return out


_WORKQUEUE_LOCK = threading.Lock()
_layer = None


def _threading_layer():
    """Numba's threading layer name, starting its thread pool if needed ('unknown' on failure)."""
    global _layer
    if _layer is None:
        try:
            import numba
            from numba.np.ufunc import parallel

            parallel._launch_threads()
            _layer = numba.threading_layer()
        except Exception:  # noqa: BLE001 - any failure: assume the unsafe layer
            _layer = "unknown"
    return _layer


@contextlib.contextmanager
def parallel_section():
    """Context for a call into a ``parallel=True`` kernel: locked only on non-thread-safe layers."""
    if _threading_layer() in ("tbb", "omp"):
        yield
        return
    with _WORKQUEUE_LOCK:
        yield
