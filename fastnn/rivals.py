"""The other tools' trainers of ``fastnn compare``: moved to :mod:`fastnn.bench.rivals`.

``import fastnn.rivals`` and ``from fastnn.rivals import train_tuned_numpy`` keep
working: this module replaces itself with :mod:`fastnn.bench.rivals` (the same
module object, not a copy).
"""
import sys

from .bench import rivals as _moved

sys.modules[__name__] = _moved
