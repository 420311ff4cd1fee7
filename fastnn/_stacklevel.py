"""Warnings that name the user's line, however deep inside fastnn they are raised."""
import os
import sys

_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep


def outside_fastnn():
    """The ``stacklevel`` for :func:`warnings.warn` that points at the first caller outside fastnn.

    Called by the function that warns: level 1 is that function, each frame further out adds
    one.  A fixed stacklevel is right for one entry point only (``Network.fit`` but not the
    scikit-learn estimator that calls it).
    """
    frame, level = sys._getframe(1), 1
    while frame.f_back is not None and os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE):
        frame, level = frame.f_back, level + 1
    return level
