"""Guarded stand-ins for the globals that Python 3 pickles of NumPy arrays name.

The book's ``mnist.pkl.gz`` was written by Python 2, whose pickles need only
``numpy.core.multiarray._reconstruct``, ``numpy.ndarray`` and ``numpy.dtype``.
Many readers re-pickled it under Python 3, and those files name three more
globals, depending on the protocol:

* protocols 0-2 store every ``bytes`` object (an array's raw data) as
  ``_codecs.encode(text, 'latin1')``, and an empty one as ``bytes()``
  (``__builtin__.bytes`` with the default ``fix_imports``);
* protocol 5 stores an array as ``numpy.core.numeric._frombuffer(buffer,
  dtype, shape, order)`` (``numpy._core.numeric`` under NumPy 2).

The restricted unpickler never returns those functions.  It returns the
wrappers below, each of which does only what such a file needs and raises
:class:`fastnn.UnsafePickleError` for any other call: ``_codecs.encode``
only turns a ``str`` into ``bytes`` with the Latin-1 codec (no other codec,
so no decompression bombs or codec tricks), ``bytes`` only makes ``b""``,
and ``_frombuffer`` only views in-band bytes as a NumPy array of a dtype
without Python objects.  None of them can call anything named by the file.
"""
import numpy as np

from fastnn.exceptions import UnsafePickleError

__all__ = ["PY3_GLOBALS"]

_LATIN1_NAMES = ("latin1", "latin-1")


def _refuse(what, args):
    """Raise :class:`UnsafePickleError` naming the refused call."""
    shown = ", ".join(f"{type(a).__name__}" for a in args)
    raise UnsafePickleError(f"forbidden use of {what}({shown}): mnist.pkl.gz may only contain "
                            f"NumPy arrays, so the file was rejected")


def latin1_encode(*args):
    """``_codecs.encode(text, 'latin1')`` as Python 3 writes it for bytes at protocols 0-2.

    Parameters
    ----------
    *args
        Exactly ``(text, encoding)`` with ``text`` a ``str`` and ``encoding``
        ``"latin1"`` or ``"latin-1"``, optionally followed by ``"strict"``.

    Returns
    -------
    bytes

    Raises
    ------
    UnsafePickleError
        For any other arguments (another codec, a non-str object, ...).
    """
    if (len(args) in (2, 3) and type(args[0]) is str and type(args[1]) is str
            and args[1].lower() in _LATIN1_NAMES and args[2:] in ((), ("strict",))):
        try:
            return args[0].encode("latin-1")
        except UnicodeEncodeError:
            pass  # not text that Python 3 wrote from bytes
    _refuse("_codecs.encode", args)


def empty_bytes(*args):
    """``bytes()`` as Python 3 writes an empty ``bytes`` object at protocols 0-2.

    Raises
    ------
    UnsafePickleError
        If called with any argument (``bytes(n)`` would allocate ``n`` bytes).
    """
    if args:
        _refuse("bytes", args)
    return b""


def frombuffer(*args):
    """NumPy's ``_frombuffer(buffer, dtype, shape, order)`` of protocol-5 pickles, checked.

    Returns
    -------
    ndarray
        A writable array: a view of the pickle's ``bytearray``, or a copy of
        its ``bytes``.

    Raises
    ------
    UnsafePickleError
        Unless ``buffer`` is in-band ``bytes``/``bytearray``, ``dtype`` a NumPy
        dtype without Python objects, ``shape`` a tuple of non-negative ints
        and ``order`` ``"C"`` or ``"F"``.
    ValueError
        If the buffer's length does not fit the dtype and shape.
    """
    if len(args) == 4:
        buf, dtype, shape, order = args
        if (type(buf) in (bytes, bytearray) and isinstance(dtype, np.dtype) and not dtype.hasobject
                and type(shape) is tuple and all(type(n) is int and n >= 0 for n in shape)
                and order in ("C", "F")):
            flat = np.frombuffer(buf, dtype=dtype)  # a bytearray (what pickle gives) is writable
            array = flat.reshape(shape, order=order)
            return array if array.flags.writeable else array.copy(order=order)
    _refuse("numpy _frombuffer", args)


PY3_GLOBALS = {
    ("_codecs", "encode"): latin1_encode,
    ("__builtin__", "bytes"): empty_bytes,   # Python 3 with fix_imports=True (the default)
    ("builtins", "bytes"): empty_bytes,      # Python 3 with fix_imports=False
    ("numpy.core.numeric", "_frombuffer"): frombuffer,   # NumPy 1.x, protocol 5
    ("numpy._core.numeric", "_frombuffer"): frombuffer,  # NumPy 2.x, protocol 5
}
"""The globals of Python 3 pickles of NumPy arrays, each mapped to its guarded stand-in."""
