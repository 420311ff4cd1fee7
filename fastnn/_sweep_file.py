"""The results file of :func:`fastnn.sweep`: a CSV file that grows by one row per finished configuration.

Users read the format in the guide (docs/guide/sweeps.md, "Format") and the file with
:func:`fastnn.sweeps.read_results`; this docstring repeats it for the code's readers.

Format (version 1), UTF-8 text, one record per line::

    # fastnn sweep results {"format": 1, "fingerprint": {...}, "configurations": 4, ...}
    index,eta,hidden_layer_sizes,score,score_std,seconds,error,fastnn_version
    1,0.5,"(20,)",0.9266666666666666,0.011331...,0.41,,0.1.0
    0,0.5,"(10,)",0.9133333333333334,0.012472...,0.38,,0.1.0

* Line 1 is a comment: a fixed prefix, then JSON with the format version,
  the sweep's fingerprint (SHA-256 digests of the data, the folds, the fixed
  arguments and the list of configurations), the number of configurations
  and the parameter names.  Read the table with
  ``pandas.read_csv(path, skiprows=1)``.
* Line 2 names the columns.  ``index`` is the configuration's position in
  the sweep (``ParameterGrid`` or ``ParameterSampler`` order); rows appear in
  the order the configurations finished.
* A parameter cell is the value's ``repr`` (a string as itself): ``0.5``,
  ``(20,)``, ``quadratic``; empty if that configuration does not set it.
  Scores and seconds are written with ``repr`` too, so they read back
  bit for bit.  A failed configuration has ``nan`` scores and the error's
  type and message (one line) in ``error``.

The header is written with a temporary file and ``os.replace``; each row is
appended with a single write, flushed and fsync'ed, so a crash leaves whole
rows and at most one incomplete last line.  Opening the file for a resumed
sweep drops (truncates) such a line; its configuration runs again.  While a
sweep uses the file it holds an exclusive ``flock`` on it (POSIX), so two
sweeps cannot append to the same file.
"""
import ast
import csv
import hashlib
import io
import json
import math
import os

import numpy as np

from .persistence import atomic_write

FORMAT_VERSION = 1
PREFIX = "# fastnn sweep results "
RESULT_FIELDS = ("score", "score_std", "seconds", "error")

#: What each fingerprint component covers, for the message refusing a foreign file.
_COMPONENTS = {
    "data": "the data (X, y)",
    "folds": "the cross-validation folds (cv)",
    "arguments": "the fixed arguments (epochs, random_state)",
    "configurations": "the configurations (param_grid, n_iter or random_state)",
}


# --------------------------------------------------------------------------- encoding

def encode_value(value):
    """The text of a parameter value in a CSV cell and in the fingerprint.

    Strings are written as themselves; NumPy scalars as the Python scalar they
    hold; everything else with ``repr`` (exact for floats: ``float(repr(x)) == x``).
    """
    if isinstance(value, np.generic):
        value = value.item()
    return value if isinstance(value, str) else repr(value)


def _one_line(text):
    """``text`` with every run of whitespace (newlines included) turned into one space."""
    return " ".join(str(text).split())


def _digest(*chunks):
    h = hashlib.sha256()
    for chunk in chunks:
        h.update(chunk if isinstance(chunk, bytes) else str(chunk).encode("utf-8"))
        h.update(b"\x00")
    return h.hexdigest()


def _array_chunks(a):
    """Bytes that identify an array: dtype, shape and contents (object arrays by their text)."""
    a = np.asarray(a)
    if a.dtype.kind == "O":
        return (a.dtype.str, a.shape, json.dumps([repr(v) for v in a.ravel().tolist()]))
    return (a.dtype.str, a.shape, np.ascontiguousarray(a).tobytes())


def fingerprint(X, y, splits, fixed, configs):
    """SHA-256 digests identifying a sweep, one per component.

    Parameters
    ----------
    X, y : ndarray
        The validated data.
    splits : list of (ndarray, ndarray)
        The ``(train, test)`` indices of every fold.
    fixed : dict
        Arguments shared by every configuration (``epochs``, ``random_state``).
    configs : list of dict
        The configurations, in sweep order.

    Returns
    -------
    dict
        ``{"data", "folds", "arguments", "configurations"}`` to hex digests.
    """
    folds = [chunk for train, test in splits
             for chunk in (*_array_chunks(np.asarray(train, dtype=np.int64)),
                           *_array_chunks(np.asarray(test, dtype=np.int64)))]
    return {
        "data": _digest(*_array_chunks(X), *_array_chunks(y)),
        "folds": _digest(len(splits), *folds),
        "arguments": _digest(*(f"{k}={encode_value(v)}" for k, v in sorted(fixed.items()))),
        "configurations": _digest(*(json.dumps(sorted((k, encode_value(v)) for k, v in c.items()))
                                    for c in configs)),
    }


def parameter_names(configs):
    """Every parameter name of ``configs``, in order of first appearance."""
    names = {}
    for c in configs:
        names.update(dict.fromkeys(c))
    return list(names)


# --------------------------------------------------------------------------- the file

class ResultsFile:
    """An open results file: the rows already in it, and :meth:`append` for new ones.

    Use :meth:`open`; close with :meth:`close` (or as a context manager).

    Attributes
    ----------
    path : str
    rows : dict
        Configuration index to ``{"score", "score_std", "seconds", "error"}``
        (``error`` is None for a configuration that succeeded) of every row
        read from the file when it was opened.
    """

    def __init__(self, path, handle, configs, columns, rows, version):
        self.path = path
        self.rows = rows
        self._file = handle
        self._configs = configs
        self._columns = columns
        self._version = version

    @classmethod
    def open(cls, path, configs, prints, version):
        """Open (creating if needed) the results file of a sweep and read its rows.

        Parameters
        ----------
        path : str or os.PathLike
        configs : list of dict
            The sweep's configurations, in order.
        prints : dict
            The sweep's :func:`fingerprint`.
        version : str
            The fastnn version, written in every new row.

        Raises
        ------
        ValueError
            If the file is not a fastnn sweep results file, belongs to a different
            sweep (naming what differs), has a malformed row, or is in use by
            another sweep.
        FileNotFoundError
            If the file's directory does not exist.
        """
        path = os.fspath(path)
        names = parameter_names(configs)
        columns = ["index", *names, *RESULT_FIELDS, "fastnn_version"]
        header = {"format": FORMAT_VERSION, "fingerprint": prints, "configurations": len(configs),
                  "parameters": names}
        if not os.path.exists(path) or os.path.getsize(path) == 0:
            with atomic_write(path, "w") as f:
                f.write(PREFIX + json.dumps(header, sort_keys=True) + "\n" + _csv_line(columns))
        handle = open(path, "r+b")
        try:
            _lock(handle, path)
            rows = _read(handle, path, header, columns, configs)
        except BaseException:
            handle.close()
            raise
        return cls(path, handle, configs, columns, rows, version)

    def append(self, index, result):
        """Append the row of configuration ``index`` (one write, flushed and fsync'ed).

        Parameters
        ----------
        index : int
        result : dict
            ``{"score", "score_std", "seconds", "error"}``.
        """
        config = self._configs[index]
        cells = [str(index)]
        cells += [encode_value(config[name]) if name in config else ""
                  for name in self._columns[1:-len(RESULT_FIELDS) - 1]]
        cells += [repr(float(result[k])) for k in ("score", "score_std", "seconds")]
        cells += [_one_line(result["error"]) if result["error"] else "", self._version]
        self._file.write(_csv_line(cells).encode("utf-8"))
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self):
        """Close the file (which releases the lock)."""
        self._file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _csv_line(cells):
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(cells)
    return out.getvalue()


def _lock(handle, path):
    """Hold an exclusive lock on the open file, or raise ValueError if another sweep has it."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock
        return
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise ValueError(f"results file {path!r} is in use by another running sweep; wait for it "
                         f"to finish or choose another file") from None
    except OSError:  # a file system without locks (some network mounts): go on unlocked
        pass


def _read(handle, path, header, columns, configs):
    """Check the header of an open results file, drop an incomplete last line, parse the rows."""
    data = handle.read()
    lines, end = _complete_lines(data)
    _check_header(lines, path, header, columns)  # before touching the file: it may not be ours
    if end < len(data):  # a row cut short by a crash: never complete, so drop it
        handle.seek(end)
        handle.truncate()
        handle.flush()
        os.fsync(handle.fileno())
    rows = {}
    for number, cells in enumerate(csv.reader(lines[2:]), start=3):
        index, result = _parse_row(cells, number, path, columns, configs)
        if index in rows:
            raise ValueError(f"results file {path!r}, line {number}: configuration {index} "
                             f"appears twice; delete one of its rows")
        rows[index] = result
    handle.seek(0, os.SEEK_END)
    return rows


def _complete_lines(data):
    """The complete (newline-terminated) lines of a file's bytes, and where they end."""
    end = data.rfind(b"\n") + 1
    try:
        return data[:end].decode("utf-8").split("\n")[:-1], end
    except UnicodeDecodeError:
        return [], end


def _first_line(lines, path, hint=""):
    """The JSON of a results file's first line, checked to be of this format."""
    if not lines or not lines[0].startswith(PREFIX):
        raise ValueError(f"{path!r} is not a fastnn sweep results file (its first line does not "
                         f"start with {PREFIX.strip()!r}){hint}")
    try:
        found = json.loads(lines[0][len(PREFIX):])
        version = found["format"]
    except (ValueError, KeyError, TypeError):
        raise ValueError(f"results file {path!r} has a malformed first line") from None
    if version != FORMAT_VERSION:
        raise ValueError(f"results file {path!r} has format {version!r}; this fastnn reads "
                         f"format {FORMAT_VERSION}")
    return found


def _check_header(lines, path, header, columns):
    found = _first_line(lines, path, "; choose another file name")
    if "fingerprint" not in found:
        raise ValueError(f"results file {path!r} has a malformed first line")
    prints = found["fingerprint"]
    differ = [text for key, text in _COMPONENTS.items()
              if not isinstance(prints, dict) or prints.get(key) != header["fingerprint"][key]]
    if differ:
        raise ValueError(f"results file {path!r} was written by a different sweep: "
                         f"{' and '.join(differ)} differ. Use another file for this sweep, or "
                         f"delete this one to start over")
    if len(lines) < 2 or next(csv.reader(lines[1:2])) != columns:
        raise ValueError(f"results file {path!r}: line 2 must name the columns {columns}")


def _parse_row(cells, number, path, columns, configs):
    """``(index, result)`` of one data row, checked against the sweep's configurations."""
    where = f"results file {path!r}, line {number}"
    if len(cells) != len(columns):
        raise ValueError(f"{where}: {len(cells)} cells, expected {len(columns)}")
    row = dict(zip(columns, cells))
    try:
        index = int(row["index"])
        result = {k: float(row[k]) for k in ("score", "score_std", "seconds")}
    except ValueError:
        raise ValueError(f"{where}: index, score, score_std or seconds is not a number") from None
    if not 0 <= index < len(configs):
        raise ValueError(f"{where}: configuration index {index} is not in 0..{len(configs) - 1}")
    config = configs[index]
    for name in columns[1:-len(RESULT_FIELDS) - 1]:
        expected = encode_value(config[name]) if name in config else ""
        if row[name] != expected:
            raise ValueError(f"{where}: {name}={row[name]!r} but configuration {index} has "
                             f"{name}={expected!r}")
    result["error"] = row["error"] or None
    if result["error"] is None and math.isnan(result["score"]):
        raise ValueError(f"{where}: score is nan but the error cell is empty")
    return index, result


def count_rows(path):
    """Number of complete data rows in a results file (0 if it does not exist)."""
    try:
        with open(path, "rb") as f:
            return max(0, f.read().count(b"\n") - 2)
    except FileNotFoundError:
        return 0


def _cell_value(text):
    """A parameter cell as the Python value it was written from (None if empty)."""
    if text == "":
        return None
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return text  # a string parameter is written as itself


def read_rows(path):
    """The rows of a results file as dicts, sorted by configuration index (read only, no lock).

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file is not a results file of this format or a row is malformed.
    """
    path = os.fspath(path)
    with open(path, "rb") as f:
        lines, _ = _complete_lines(f.read())
    _first_line(lines, path)
    if len(lines) < 2:
        raise ValueError(f"results file {path!r} has no line naming the columns")
    columns = next(csv.reader(lines[1:2]))
    if columns[:1] != ["index"] or columns[-len(RESULT_FIELDS) - 1:] != [*RESULT_FIELDS, "fastnn_version"]:
        raise ValueError(f"results file {path!r}: line 2 must name the columns index, the parameters, "
                         f"{', '.join(RESULT_FIELDS)}, fastnn_version")
    names = columns[1:-len(RESULT_FIELDS) - 1]
    rows = []
    for number, cells in enumerate(csv.reader(lines[2:]), start=3):
        if len(cells) != len(columns):
            raise ValueError(f"results file {path!r}, line {number}: {len(cells)} cells, expected {len(columns)}")
        cell = dict(zip(columns, cells))
        try:
            row = {"index": int(cell["index"])}
            row.update({name: _cell_value(cell[name]) for name in names})
            row.update({k: float(cell[k]) for k in ("score", "score_std", "seconds")})
        except ValueError:
            raise ValueError(f"results file {path!r}, line {number}: index, score, score_std or "
                             f"seconds is not a number") from None
        row["error"] = cell["error"] or None
        row["fastnn_version"] = cell["fastnn_version"]
        rows.append(row)
    return sorted(rows, key=lambda r: r["index"])
