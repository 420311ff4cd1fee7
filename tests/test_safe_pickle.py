"""The book's mnist.pkl.gz re-pickled by Python 3: every protocol loads, nothing runs code.

Python 3 pickles ``bytes`` at protocols 0-2 as ``_codecs.encode(text, 'latin1')``
(and ``b""`` as ``bytes()``), and NumPy arrays at protocol 5 as
``numpy._core.numeric._frombuffer``.  fastnn's restricted unpickler serves these
globals through guarded stand-ins (fastnn/_safe_pickle.py); these tests write
such files from tiny arrays and check that any other use is still refused.
"""
import gzip
import pickle
import shlex

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from fastnn import UnsafePickleError, mnist_loader
from fastnn._safe_pickle import PY3_GLOBALS, empty_bytes, frombuffer, latin1_encode
from fastnn.datasets import load_mnist_pkl

RNG = np.random.default_rng(22)


def tiny_splits(dtype=np.float32, fortran=False, empty_validation=False):
    """((X, y), (X, y), (X, y)) shaped like the book's file, with 6 features instead of 784."""
    def split(n):
        X = RNG.random((n, 6)).astype(dtype)
        if fortran:
            X = np.asfortranarray(X)
        return X, RNG.integers(0, 10, size=n).astype(np.int64)
    return split(5), split(0 if empty_validation else 3), split(4)


def dump(path, obj, protocol, fix_imports=True):
    with gzip.open(path, "wb") as f:
        pickle.dump(obj, f, protocol=protocol, fix_imports=fix_imports)
    return path


def assert_loaded(loaded, splits):
    for (X, y), (X0, y0) in zip(loaded, splits):
        assert X.dtype == np.float64 and y.dtype == np.int64
        assert_array_equal(X, X0.astype(np.float64))  # float32 -> float64 is exact
        assert_array_equal(y, y0)
        assert X.flags.writeable and X.flags.c_contiguous


@pytest.mark.parametrize("protocol", [0, 1, 2, 3, 4, 5])
@pytest.mark.parametrize("fix_imports", [True, False])
def test_python3_pickles_load_for_every_protocol(tmp_path, protocol, fix_imports):
    splits = tiny_splits()
    path = dump(tmp_path / "mnist.pkl.gz", splits, protocol, fix_imports)
    assert_loaded(load_mnist_pkl(path), splits)
    assert_loaded(mnist_loader.load_data(str(path)), splits)


@pytest.mark.parametrize("protocol", [2, 5])
def test_python3_pickles_with_empty_and_fortran_arrays(tmp_path, protocol):
    # an empty split pickles b"" as bytes() at protocol 2; Fortran order gives order="F" at 5
    splits = tiny_splits(dtype=np.float64, fortran=True, empty_validation=True)
    path = dump(tmp_path / "mnist.pkl.gz", splits, protocol)
    loaded = load_mnist_pkl(path)
    assert loaded[1][0].shape == (0, 6)
    assert_loaded(loaded, splits)


def test_protocol2_pickle_really_uses_the_guarded_globals(tmp_path):
    # guard against the test passing vacuously if a future Python/NumPy stopped naming them
    p2 = pickle.dumps(tiny_splits(empty_validation=True), protocol=2)
    assert b"_codecs\nencode" in p2 and b"__builtin__\nbytes" in p2
    p5 = pickle.dumps(tiny_splits(), protocol=5)
    assert b"_frombuffer" in p5


# --------------------------------------------------------------------------- refused files
def reduce_pickle(module, name, args):
    """A protocol-3 pickle calling ``module.name(*args)`` (args pickled as protocol 3)."""
    body = pickle.dumps(tuple(args), protocol=3)[2:-1]  # without PROTO and STOP
    return b"\x80\x03c" + f"{module}\n{name}\n".encode() + body + b"R."


def write_gz(path, raw):
    path.write_bytes(gzip.compress(raw))
    return path


@pytest.mark.parametrize("module, name, args, match", [
    ("_codecs", "encode", ("eJwLzs8FAA==", "base64"), r"forbidden use of _codecs\.encode"),
    ("_codecs", "encode", ("abc", "rot13"), r"forbidden use of _codecs\.encode"),
    ("_codecs", "encode", (b"abc", "zlib"), r"forbidden use of _codecs\.encode\(bytes, str\)"),
    ("_codecs", "encode", (b"abc", "latin1"), r"forbidden use of _codecs\.encode\(bytes, str\)"),
    ("_codecs", "encode", ("abc", "latin1", "ignore"), r"forbidden use of _codecs\.encode"),
    ("_codecs", "encode", ("abc",), r"forbidden use of _codecs\.encode\(str\)"),
    ("_codecs", "encode", ("\u20ac", "latin1"), r"forbidden use of _codecs\.encode"),
    ("__builtin__", "bytes", (10 ** 12,), r"forbidden use of bytes\(int\)"),
    ("builtins", "bytes", ("abc", "utf-8"), r"forbidden use of bytes"),
    ("numpy._core.numeric", "_frombuffer", (b"\0" * 8, np.dtype(object), (1,), "C"),
     r"forbidden use of numpy _frombuffer"),
    ("numpy.core.numeric", "_frombuffer", ([1, 2], np.dtype("f8"), (2,), "C"),
     r"forbidden use of numpy _frombuffer"),
    ("numpy._core.numeric", "_frombuffer", (b"\0" * 8, np.dtype("f8"), (1,), "K"),
     r"forbidden use of numpy _frombuffer"),
    ("_codecs", "decode", ("abc", "rot13"), r"forbidden global _codecs\.decode"),
    ("builtins", "getattr", (np.dtype("f8"), "newbyteorder"), r"forbidden global builtins\.getattr"),
    ("__builtin__", "getattr", (np.dtype("f8"), "newbyteorder"), r"forbidden global __builtin__\.getattr"),
    ("builtins", "eval", ("1+1",), r"forbidden global builtins\.eval"),
    ("__builtin__", "eval", ("1+1",), r"forbidden global __builtin__\.eval"),
    ("copyreg", "_reconstructor", (object, object, None), r"forbidden global copyreg\._reconstructor"),
    ("numpy", "frombuffer", (b"\0" * 8,), r"forbidden global numpy\.frombuffer"),
    ("numpy.core.numeric", "frombuffer", (b"\0" * 8,), r"forbidden global numpy\.core\.numeric\.frombuffer"),
])
def test_misused_or_other_globals_refused(tmp_path, module, name, args, match):
    path = write_gz(tmp_path / "mnist.pkl.gz", reduce_pickle(module, name, args))
    with pytest.raises(UnsafePickleError, match=match) as info:
        load_mnist_pkl(path)
    assert str(path) in str(info.value)
    assert isinstance(info.value, pickle.UnpicklingError) and isinstance(info.value, ValueError)


class _System:
    """Unpickling this with the stock unpickler runs a shell command."""

    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        import os
        return os.system, (self.command,)


@pytest.mark.parametrize("protocol", [0, 2, 5])
def test_os_system_next_to_py3_arrays_refused_without_running(tmp_path, protocol):
    target = tmp_path / "pwned"
    splits = tiny_splits()
    evil = _System(f"echo pwned > {shlex.quote(str(target))}")
    path = dump(tmp_path / "mnist.pkl.gz", ((splits[0][0], evil), splits[1], splits[2]), protocol)
    with pytest.raises(UnsafePickleError, match=r"forbidden global (posix|nt|os)\.system"):
        load_mnist_pkl(path)
    assert not target.exists()


def test_latin1_bytes_cannot_smuggle_a_pickle(tmp_path):
    # the bytes rebuilt by _codecs.encode are data: a pickle hidden in them is never unpickled
    inner = pickle.dumps(_System("true"), protocol=2)
    raw = reduce_pickle("_codecs", "encode", (inner.decode("latin-1"), "latin1"))
    with pytest.raises(ValueError, match="expected a 3-tuple"):
        load_mnist_pkl(write_gz(tmp_path / "mnist.pkl.gz", raw))


def test_stand_ins_directly():
    assert latin1_encode("\x00\xffa", "latin1") == b"\x00\xffa"
    assert latin1_encode("ab", "latin-1", "strict") == b"ab"
    assert empty_bytes() == b""
    a = frombuffer(bytearray(np.arange(6.0).tobytes()), np.dtype("f8"), (2, 3), "F")
    assert_array_equal(a, np.arange(6.0).reshape(2, 3, order="F"))
    assert a.flags.f_contiguous and a.flags.writeable
    with pytest.raises(ValueError):
        frombuffer(b"\0" * 7, np.dtype("f8"), (1,), "C")  # not a whole number of items
    # only the five names the files use, each a guarded stand-in, never the real function
    assert set(PY3_GLOBALS) == {("_codecs", "encode"), ("__builtin__", "bytes"), ("builtins", "bytes"),
                                ("numpy.core.numeric", "_frombuffer"),
                                ("numpy._core.numeric", "_frombuffer")}
    assert bytes not in PY3_GLOBALS.values()
