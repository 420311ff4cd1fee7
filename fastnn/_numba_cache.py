"""Is numba's on-disk cache warm for the kernels a command is about to run?

A first run compiles the network kernels, which takes seconds; later runs load
them from numba's cache in well under a second.  ``fastnn``'s command line
prints :data:`COMPILE_NOTE` once, before starting, when the cache holds no
usable entry for a kernel it will call, so that a slow first epoch is not
read as the speed of the engine.

The check reads numba's cache index (the ``.nbi`` file beside each cached
function) and keeps only the entries numba itself would accept in this
process: same source file stamp, same bytecode, same CPU and compiler.  It
never compiles anything.
"""
import importlib
import sys

import numpy as np

ENTRY_POINTS = ("tiled:_run",)
"""The compiled functions that ``Network.fit`` and ``Network.predict_proba`` call, as
``"module:function"`` in :mod:`fastnn.kernels`.  The functions they call are
compiled into them, so only these entry points are checked.  Edit this one line
when the kernels are renamed or split."""

CONV_ENTRY_POINTS = ("conv:sgd_chunk", "conv:predict_proba")
"""The same for chapter 6's :class:`fastnn.network3.Network` (``fastnn network3``,
``fastnn compare --net conv``); kept apart so that the dense commands never import
the conv kernels."""

COMPILE_NOTE = "compiling kernels (first run only: ~10 s, ~40 s for a conv net)"
"""The line printed to stderr when the cache is cold."""

JIT_COMMANDS = ("train", "predict", "compare", "bench", "sweep", "book")
"""Subcommands of ``fastnn`` that run the network kernels."""


def entry_kernels(entry_points=ENTRY_POINTS):
    """The kernel objects named by ``entry_points`` (numba dispatchers, or plain
    functions under ``NUMBA_DISABLE_JIT=1``).

    Parameters
    ----------
    entry_points : sequence of str
        ``"module:function"`` names relative to :mod:`fastnn.kernels`.

    Returns
    -------
    list
    """
    kernels = []
    for name in entry_points:
        module, function = name.split(":")
        kernels.append(getattr(importlib.import_module(f"fastnn.kernels.{module}"), function))
    return kernels


def _has_dtype(signature, dtype, required=()):
    """True if an array argument of ``signature`` (numba types) has the NumPy ``dtype``
    and every type of ``required`` is among its arguments."""
    from numba import from_dtype

    wanted = from_dtype(np.dtype(dtype))
    return (any(getattr(arg, "dtype", None) == wanted for arg in signature)
            and all(t in signature for t in required))


def host_arguments(name, dtype="float64", panels=False):
    """Argument types besides the dtype that entry point ``name`` is compiled for on this host:
    for the dense kernel, its register block (:func:`fastnn.kernels.tiled.row_block`) and
    whether its first layer runs as panels (:func:`fastnn.kernels.panels.panel_tile` of
    ``dtype`` if ``panels``, else the empty tuple), each a compiled specialisation of its own,
    so that an entry cached for the other block or the other path counts as cold.  Empty for
    the other entry points."""
    if name != "tiled:_run":
        return ()
    from numba import typeof

    from .kernels import panels as panel_kernels
    from .kernels import tiled

    tile = panel_kernels.panel_tile(dtype) if panels else panel_kernels.NO_TILE
    return (typeof(tiled.row_block()), typeof(tile))


def _usable_cached_signatures(dispatcher):
    """Signatures of ``dispatcher`` that numba's cache would load in this process.

    Returns None when the dispatcher has no on-disk cache (``cache=False``, or
    plain Python under ``NUMBA_DISABLE_JIT``).
    """
    cache = getattr(dispatcher, "_cache", None)
    index_file = getattr(cache, "_cache_file", None)
    if index_file is None:
        return None
    codegen = dispatcher.targetctx.codegen()
    # _load_index() is empty when the index is missing, from another numba or
    # older than the source file; a key is usable when it is the key numba
    # would compute now for the same signature (same bytecode and CPU).
    return [key[0] for key in index_file._load_index() if cache._index_key(key[0], codegen) == key]


def is_cold(dispatcher, dtype, required=()):
    """True if calling ``dispatcher`` with ``dtype`` arrays would compile it.

    Parameters
    ----------
    dispatcher : numba dispatcher or function
    dtype : str or numpy.dtype
        The float dtype of the network (``"float64"`` or ``"float32"``).
    required : tuple of numba types
        Types the call also passes (:func:`host_arguments`): a signature without
        them does not count.

    Returns
    -------
    bool
        False when the function is compiled in this process already, when the
        on-disk cache has a usable entry for the dtype, or when it is not a
        cached numba function at all (``NUMBA_DISABLE_JIT=1``).
    """
    if any(_has_dtype(sig, dtype, required) for sig in getattr(dispatcher, "signatures", ())):
        return False
    try:
        cached = _usable_cached_signatures(dispatcher)
    except Exception:  # a numba whose cache internals differ: no hint rather than a crash
        return False
    if cached is None:
        return hasattr(dispatcher, "signatures")  # a numba function without a disk cache
    return not any(_has_dtype(sig, dtype, required) for sig in cached)


def cold_kernels(dtypes, entry_points=ENTRY_POINTS, panels=False):
    """``(name, dtype)`` of every entry point that would compile for one of ``dtypes``.

    Parameters
    ----------
    dtypes : iterable of str
    entry_points : sequence of str
        As in :func:`entry_kernels`.
    panels : bool
        Check the dense kernel's specialisation for mini-batches of
        :data:`fastnn.kernels.panels.MIN_BATCH` and more instead of the smaller ones'.

    Returns
    -------
    list of tuple

    Examples
    --------
    >>> from fastnn import _numba_cache
    >>> cold = _numba_cache.cold_kernels(["float64"])   # [] once the cache is warm
    """
    kernels = entry_kernels(entry_points)
    return [(name, str(np.dtype(dt))) for dt in dtypes
            for name, kernel in zip(entry_points, kernels)
            if is_cold(kernel, dt, host_arguments(name, dt, panels))]


def command_dtypes(args):
    """Float dtypes whose network kernels the parsed ``fastnn`` command ``args`` will run.

    Commands that do not use the jit engine (``--engine reference``, ``demo``)
    give an empty list.  ``predict`` cannot know a saved model's dtype before
    loading it and assumes the default, float64.
    """
    if getattr(args, "command", None) not in JIT_COMMANDS:
        return []
    if getattr(args, "engine", None) not in (None, "jit"):
        return []
    dtype = getattr(args, "dtype", None)
    if dtype is None:
        return ["float64"] if args.command != "bench" else ["float64", "float32"]
    return [dtype] if isinstance(dtype, str) else list(dtype)


_ANNOUNCED = set()
"""Dtypes whose compilation was announced in this process (announced once only)."""


def command_entry_points(args):
    """The entry points the parsed ``fastnn`` command ``args`` will run: :data:`CONV_ENTRY_POINTS`
    for ``fastnn compare --net conv``, else :data:`ENTRY_POINTS` (``fastnn network3``
    announces its own, once its arguments are checked)."""
    if getattr(args, "command", None) == "compare" and getattr(args, "net", None) == "conv":
        return CONV_ENTRY_POINTS
    return ENTRY_POINTS


def command_panels(args):
    """Whether the parsed ``fastnn`` command ``args`` may train with the first layer as panels
    (mini-batches of :data:`fastnn.kernels.panels.MIN_BATCH` and more): ``train`` by its
    ``--mini-batch-size``; ``compare``, ``bench``, ``sweep`` and ``book`` run several sizes or
    compile both paths first."""
    from .kernels.panels import MIN_BATCH

    command = getattr(args, "command", None)
    if command == "train":
        return args.mini_batch_size >= MIN_BATCH
    return command in ("compare", "bench", "sweep", "book")


def announce_if_cold(dtypes, stream=None, entry_points=ENTRY_POINTS, panels=False):
    """Print :data:`COMPILE_NOTE` (one line) to ``stream`` if a kernel would compile,
    at most once per dtype and process.

    Parameters
    ----------
    dtypes : iterable of str
        Float dtypes the caller is about to train or predict with.
    stream : file-like, optional
        Default ``sys.stderr``.
    entry_points : sequence of str
        The kernels to check, as in :func:`entry_kernels`.
    panels : bool
        Also check the specialisation with the first layer as panels (:func:`command_panels`).

    Returns
    -------
    bool
        True if the line was printed.
    """
    dtypes = [str(np.dtype(dt)) for dt in dtypes if str(np.dtype(dt)) not in _ANNOUNCED]
    if not dtypes or not (cold_kernels(dtypes, entry_points)
                          or panels and cold_kernels(dtypes, entry_points, panels=True)):
        return False
    _ANNOUNCED.update(dtypes)
    print(COMPILE_NOTE, file=stream or sys.stderr, flush=True)
    return True
