"""Every progress bar of fastnn: tqdm on stderr, only when asked for and stderr is a terminal.

* :func:`make_progress`: a bar over training samples (``Network.fit``);
* :class:`EpochBar`: the same bar as a per-epoch ``fit`` callback that shows the
  training cost (the colorizer);
* :func:`make_bar`: a bar over other units (the sweep's configurations).

When progress is off, or stderr is not a terminal (a log file, a pipe, a test), the
functions return a :class:`NoBar`, which has the methods of a tqdm bar and does nothing,
so callers never test whether a bar exists.
"""
import sys


class NoBar:
    """Stand-in for a tqdm bar when progress is off."""

    def update(self, n=1):
        """Do nothing."""

    def set_description_str(self, *args, **kwargs):
        """Do nothing."""

    def set_postfix_str(self, *args, **kwargs):
        """Do nothing."""

    def close(self):
        """Do nothing."""


def progress_enabled(progress, stream=None):
    """True if a bar should be shown: ``progress`` is true and ``stream`` (stderr) is a terminal."""
    if not progress:
        return False
    stream = sys.stderr if stream is None else stream
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def make_bar(progress, total, *, initial=0, unit="it"):
    """A tqdm bar of ``total`` items (``initial`` done) on stderr, or a :class:`NoBar`."""
    if not progress_enabled(progress):
        return NoBar()
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, unit=unit, file=sys.stderr, dynamic_ncols=True)


def make_progress(progress, total, initial=0):
    """A tqdm bar over ``total`` training samples (``initial`` done), or a :class:`NoBar`.

    The bar goes to ``sys.stderr`` and only exists if :func:`progress_enabled`.
    """
    if not progress_enabled(progress):
        return NoBar()
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, unit="sample", unit_scale=True, file=sys.stderr,
                dynamic_ncols=True, leave=True, smoothing=0.3)


class EpochBar:
    """A bar over the training samples, advanced after each epoch, showing the training cost.

    Pass :meth:`update` as ``Network.fit``'s ``callback``; call :meth:`close` afterwards.
    """

    def __init__(self, progress, epochs, n_samples):
        self.bar = make_progress(progress, epochs * n_samples)
        self.n_samples = n_samples

    def update(self, net, record):
        """Advance by one epoch; returns False (never stops training)."""
        self.bar.update(self.n_samples)
        self.bar.set_postfix_str(f"cost={record['training_cost']:.4f}")
        return False

    def close(self):
        """Close the bar."""
        self.bar.close()
