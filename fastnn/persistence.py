"""Saving and loading networks and checkpoints: one validated ``.npz`` format, no pickle.

A model file is an uncompressed ``.npz`` archive (a zip of ``.npy`` arrays,
each with a CRC-32) holding only plain arrays:

==================  ======================================================
``format``          the string ``"fastnn.Network"`` (marks our files)
``format_version``  int, :data:`FORMAT_VERSION`
``meta``            JSON text: sizes, dtype, cost, init, engine, the fastnn
                    version, epochs done, whether training was interrupted,
                    the hyperparameters of the last ``fit`` and the state of
                    its early-stopping/eta-schedule rule
``rng_state``       JSON text of ``rng.bit_generator.state``
``history``         JSON text of ``net.history_``
``weights_<l>``     ``W^l``, shape ``(sizes[l+1], sizes[l])``
``biases_<l>``      ``b^l``, shape ``(sizes[l+1], 1)``
==================  ======================================================

Files are read with ``np.load(..., allow_pickle=False)`` and every entry is
checked, so a truncated, corrupted, zero-byte, wrong-version or foreign file
raises a ``ValueError`` that says which.  Files are written atomically by
:func:`atomic_write`: a temporary file in the same directory is written,
flushed, fsync'ed and renamed over the target with ``os.replace``, so a crash
or Ctrl-C mid-save leaves the previous file intact.
"""
import contextlib
import json
import os
import struct
import tempfile
import tokenize
import zipfile
import zlib

import numpy as np

from ._version import __version__
from .exceptions import ModelFileError

FORMAT_NAME = "fastnn.Network"
FORMAT_VERSION = 1
_ZIP_MAGIC = b"PK\x03\x04"
_NPY_MAGIC = b"\x93NUMPY"
_META_KEYS = {"sizes", "dtype", "cost", "init", "engine", "fastnn_version", "epochs_done",
              "interrupted", "fit_params", "rule_state"}
_BIT_GENERATORS = ("PCG64", "PCG64DXSM", "Philox", "SFC64", "MT19937")
_READ_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, zlib.error,
                struct.error, ValueError, KeyError, UnicodeDecodeError, NotImplementedError,
                SyntaxError, tokenize.TokenError)  # numpy parses a .npy header as Python


# -- atomic writes -------------------------------------------------------------------------

def _default_mode(path):
    """Permissions for a new file: those of the file it replaces, else 0o666 minus the umask."""
    try:
        return os.stat(path).st_mode & 0o777
    except OSError:
        pass
    umask = 0o022
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    umask = int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o666 & ~umask


def _fsync_directory(directory):
    """Make a rename durable (POSIX); silently skipped where directories cannot be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_write(path, mode="wb"):
    """Context manager yielding a file that replaces ``path`` only if the block succeeds.

    Parameters
    ----------
    path : str or os.PathLike
        Final file name.  Its directory must exist.
    mode : {"wb", "w"}
        Binary or text (UTF-8) mode.

    Notes
    -----
    The data goes to a temporary file in the same directory (same file
    system, so the rename is atomic), which is flushed and fsync'ed, then
    renamed over ``path`` with ``os.replace``.  On any exception, including
    ``KeyboardInterrupt``, the temporary file is removed and ``path`` is left
    as it was.
    """
    if mode not in ("wb", "w"):
        raise ValueError(f"mode must be 'wb' or 'w', got {mode!r}")
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"cannot write {path!r}: directory {directory!r} does not exist")
    file_mode = _default_mode(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, mode, **({"encoding": "utf-8"} if mode == "w" else {})) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, file_mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_directory(directory)


# -- saving --------------------------------------------------------------------------------

def _json_array(obj):
    """A 0-d unicode array holding ``obj`` as JSON text (no pickle needed to read it)."""
    return np.array(json.dumps(obj))


def network_arrays(net):
    """The arrays of ``net``'s model file (see the module docstring)."""
    meta = {
        "sizes": list(net.sizes), "dtype": net.dtype.name, "cost": net.cost, "init": net.init,
        "engine": net.engine, "fastnn_version": __version__,
        "epochs_done": int(net.epochs_done_), "interrupted": bool(net.interrupted_),
        "fit_params": net.fit_params_, "rule_state": net._rule_state,
    }
    arrays = {
        "format": np.array(FORMAT_NAME),
        "format_version": np.array(FORMAT_VERSION, dtype=np.int64),
        "meta": _json_array(meta),
        "rng_state": _json_array(net.rng.bit_generator.state),
        "history": _json_array(net.history_),
    }
    net._sync()
    for l, (w, b) in enumerate(zip(net.weights, net.biases)):
        arrays[f"weights_{l}"] = np.array(w)
        arrays[f"biases_{l}"] = np.array(b)
    return arrays


def save_network(net, path):
    """Write ``net`` (parameters, hyperparameters, RNG state, history) to ``path`` atomically.

    Parameters
    ----------
    net : fastnn.Network
    path : str or os.PathLike
        The file name is used as given (no ``.npz`` is appended).
    """
    arrays = network_arrays(net)
    with atomic_write(path) as f:
        np.savez(f, **arrays)


# -- loading -------------------------------------------------------------------------------

def _check_header(path):
    """Reject missing, empty and non-zip files before handing them to NumPy."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"model file {path!r} not found")
    if os.path.isdir(path):
        raise ModelFileError(f"{path!r} is a directory, not a fastnn model file")
    if os.path.getsize(path) == 0:
        raise ModelFileError(f"{path!r} is empty (0 bytes): not a fastnn model file "
                         f"(an interrupted copy or download?)")
    with open(path, "rb") as f:
        head = f.read(len(_NPY_MAGIC))
    if head.startswith(_NPY_MAGIC):
        raise ModelFileError(f"{path!r} is a single .npy array, not a fastnn model file (.npz written "
                         f"by Network.save)")
    if not head.startswith(_ZIP_MAGIC):
        raise ModelFileError(f"{path!r} is not a fastnn model file: it is not an .npz archive "
                         f"(starts with {head[:4]!r})")


def _read_arrays(path, format_name=FORMAT_NAME):
    """All arrays of the archive, read (and CRC-checked) eagerly, without pickle."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            names = set(npz.files)
            if "format" not in names:
                raise ModelFileError(f"{path!r} is an .npz archive but not a fastnn model file (no "
                                     f"'format' entry; it holds {sorted(names)[:8]})")
            fmt = npz["format"]
            if fmt.shape != () or fmt.dtype.kind != "U" or str(fmt) != format_name:
                raise ModelFileError(f"{path!r} is not a fastnn model file of this kind (format "
                                     f"entry is {str(fmt)[:40]!r}, expected {format_name!r})")
            return {name: npz[name] for name in npz.files}
    except ModelFileError:
        raise
    except _READ_ERRORS as exc:
        raise ModelFileError(f"{path!r}: corrupted or truncated model file "
                             f"({type(exc).__name__}: {exc})") from exc


def json_entry(arrays, key, path):
    """Decode the JSON text stored in the 0-d string array ``arrays[key]``."""
    if key not in arrays:
        raise ModelFileError(f"{path!r}: model file has no {key!r} entry (truncated or foreign)")
    value = arrays[key]
    if value.shape != () or value.dtype.kind != "U":
        raise ModelFileError(f"{path!r}: entry {key!r} must be JSON text, got {value.dtype} {value.shape}")
    try:
        return json.loads(str(value))
    except json.JSONDecodeError as exc:
        raise ModelFileError(f"{path!r}: entry {key!r} is not valid JSON ({exc})") from exc


def _check_version(arrays, path):
    """Require an integer format version this fastnn can read."""
    version = arrays.get("format_version")
    if version is None or version.shape != () or version.dtype.kind not in "iu":
        raise ModelFileError(f"{path!r}: missing or malformed 'format_version' entry")
    version = int(version)
    if version != FORMAT_VERSION:
        newer = "newer" if version > FORMAT_VERSION else "older"
        raise ModelFileError(f"{path!r}: model file format version {version} is {newer} than the "
                         f"version this fastnn reads ({FORMAT_VERSION}); use a matching fastnn")


def _check_meta(meta, path):
    """Validate the decoded ``meta`` dict (names, types and allowed values)."""
    from ._validation import check_dtype, check_sizes
    from .engines import COST_CODES, ENGINES, INITS

    if not isinstance(meta, dict) or set(meta) != _META_KEYS:
        got = sorted(meta) if isinstance(meta, dict) else type(meta).__name__
        raise ModelFileError(f"{path!r}: 'meta' must have the keys {sorted(_META_KEYS)}, got {got}")
    try:
        meta["sizes"] = check_sizes(meta["sizes"])
        check_dtype(meta["dtype"])
    except (TypeError, ValueError) as exc:
        raise ModelFileError(f"{path!r}: invalid network description in 'meta': {exc}") from exc
    for key, allowed in (("cost", COST_CODES), ("init", INITS), ("engine", ENGINES)):
        if meta[key] not in allowed:
            raise ModelFileError(f"{path!r}: 'meta' has {key}={meta[key]!r}, expected one of {sorted(allowed)}")
    if isinstance(meta["epochs_done"], bool) or not isinstance(meta["epochs_done"], int) \
            or meta["epochs_done"] < 0:
        raise ModelFileError(f"{path!r}: 'meta' has an invalid epochs_done {meta['epochs_done']!r}")
    for key in ("fit_params", "rule_state"):
        if meta[key] is not None and not isinstance(meta[key], dict):
            raise ModelFileError(f"{path!r}: 'meta' entry {key!r} must be an object or null")
    return meta


def _check_parameters(arrays, meta, path):
    """The weight and bias arrays: present, book-shaped, of the saved dtype, finite."""
    sizes, dtype = meta["sizes"], np.dtype(meta["dtype"])
    weights, biases = [], []
    for l in range(len(sizes) - 1):
        for name, shape, out in ((f"weights_{l}", (sizes[l + 1], sizes[l]), weights),
                                 (f"biases_{l}", (sizes[l + 1], 1), biases)):
            if name not in arrays:
                raise ModelFileError(f"{path!r}: missing parameter array {name!r} for sizes {sizes}")
            a = arrays[name]
            if a.shape != shape:
                raise ModelFileError(f"{path!r}: {name} has shape {a.shape}, expected {shape} for sizes {sizes}")
            if a.dtype != dtype:
                raise ModelFileError(f"{path!r}: {name} has dtype {a.dtype}, expected {dtype.name}")
            if not np.isfinite(a).all():
                raise ModelFileError(f"{path!r}: {name} contains NaN or infinity")
            out.append(a)
    return weights, biases


def rng_from_state(state, path):
    """A ``numpy.random.Generator`` with the saved bit-generator state."""
    name = state.get("bit_generator") if isinstance(state, dict) else None
    if name not in _BIT_GENERATORS:
        raise ModelFileError(f"{path!r}: 'rng_state' names bit generator {name!r}, expected one of "
                         f"{list(_BIT_GENERATORS)}")
    bit_generator = getattr(np.random, name)()
    try:
        bit_generator.state = state
    except (TypeError, ValueError, KeyError, OverflowError) as exc:
        raise ModelFileError(f"{path!r}: invalid 'rng_state' ({exc})") from exc
    return np.random.Generator(bit_generator)


def read_model_file(path):
    """Read and fully validate a model file.

    Returns
    -------
    dict
        ``meta`` (dict), ``rng`` (Generator), ``history`` (dict of lists),
        ``weights`` and ``biases`` (lists of arrays).

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        For an empty, truncated, corrupted, wrong-version or foreign file, or
        any entry with a wrong type, shape or value.
    """
    path = os.fspath(path)
    return parse_model_arrays(read_npz(path), path)


def read_npz(path, format_name=FORMAT_NAME):
    """The arrays of a fastnn ``.npz`` file whose ``format`` entry is ``format_name``.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ModelFileError
        For a directory, an empty, non-zip, truncated or corrupted file, or
        another ``format``.
    """
    path = os.fspath(path)
    _check_header(path)
    return _read_arrays(path, format_name)


def parse_model_arrays(arrays, path):
    """Validate the arrays of a network file (see :func:`read_model_file`) into its payload."""
    from .training import check_history

    _check_version(arrays, path)
    meta = _check_meta(json_entry(arrays, "meta", path), path)
    expected = {"format", "format_version", "meta", "rng_state", "history"}
    expected |= {f"{kind}_{l}" for kind in ("weights", "biases") for l in range(len(meta["sizes"]) - 1)}
    extra = set(arrays) - expected
    if extra:
        raise ModelFileError(f"{path!r}: unexpected entries {sorted(extra)} for sizes {meta['sizes']}")
    weights, biases = _check_parameters(arrays, meta, path)
    rng = rng_from_state(json_entry(arrays, "rng_state", path), path)
    history = json_entry(arrays, "history", path)
    try:
        history = check_history(history)
    except ValueError as exc:
        raise ModelFileError(f"{path!r}: invalid 'history' ({exc})") from exc
    if len(history["epoch"]) > meta["epochs_done"]:
        raise ModelFileError(f"{path!r}: history has {len(history['epoch'])} epochs but epochs_done is "
                         f"{meta['epochs_done']}")
    return {"meta": meta, "rng": rng, "history": history, "weights": weights, "biases": biases}


def restore_state(net, payload, path="<file>"):
    """Put a payload of :func:`read_model_file` into ``net`` (which must match it).

    Raises
    ------
    ValueError
        If the file's sizes, dtype or cost differ from ``net``'s.
    """
    meta = payload["meta"]
    for key, mine in (("sizes", net.sizes), ("dtype", net.dtype.name), ("cost", net.cost)):
        if meta[key] != mine:
            raise ModelFileError(f"{path!r} holds a network with {key}={meta[key]!r}, but this network "
                             f"has {key}={mine!r}")
    net._store(payload["weights"], payload["biases"])
    net._weights[:] = net._w_views
    net._biases[:] = net._b_views
    net.rng = payload["rng"]
    net.history_ = payload["history"]
    net.epochs_done_ = meta["epochs_done"]
    net.interrupted_ = bool(meta["interrupted"])
    net.fit_params_ = meta["fit_params"]
    net._rule_state = meta["rule_state"]
    return net


def network_from_payload(network_class, payload, path, engine=None):
    """A new ``network_class`` (:class:`fastnn.Network`) holding a payload of :func:`read_model_file`.

    ``engine`` None keeps the saved engine.  The class is an argument so that
    this module never imports :mod:`fastnn.network` (which imports it).
    """
    meta = payload["meta"]
    net = network_class(meta["sizes"], seed=0, engine=engine or meta["engine"], dtype=meta["dtype"],
                        cost=meta["cost"], init=meta["init"])
    return restore_state(net, payload, path)
