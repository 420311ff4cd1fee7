"""The files a command reads and writes, checked before it does any work; outputs locked while it runs.

Every ``fastnn`` command that reads or writes files names them (its
``check(args)``, set with ``set_defaults``, returns them), and
``fastnn.cli.main`` checks them with :func:`writing` before loading data,
compiling or training:

* a file the command reads that must exist (a model, a ``--grid``) must be an
  existing file;
* an output must be a file name in an existing, writable folder, not a folder
  itself nor an existing special or read-only file;
* its extension must suit what is written there: ``.npz`` for a model or a
  checkpoint (no other name is accepted, so a model is always found under the
  name given), a format matplotlib writes for a plot, one Pillow writes for an
  image;
* it must not be a file the command reads, nor another output of the same
  command (except pairs the command allows, such as ``train --save`` and
  ``--checkpoint`` naming one file);
* while the command runs it holds an exclusive lock on each output (POSIX
  ``flock`` on a hidden ``.NAME.lock`` file beside it, removed at the end), so
  a second command writing the same file refuses at once instead of both
  "succeeding" and the last one winning.  Where locks are not available (not
  POSIX, or a file system without them), the command goes on unlocked.

Every mistake is a :class:`ValueError` whose message is one line naming the
option; the command line prints it and exits with status 2.
"""
import contextlib
import os

KINDS = ("model", "plot", "image", "text")
"""What an output holds: a model or checkpoint (``.npz``), a matplotlib figure, a Pillow image,
or anything else (text, CSV, ...)."""


def _show(option, path):
    """How a message names an option and its file: ``--save 'm.npz'`` (positional: ``output 'x'``)."""
    return f"{option} {os.fspath(path)!r}"


def plot_formats():
    """File extensions (lower case, no dot) matplotlib can write."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    return set(FigureCanvasAgg(Figure()).get_supported_filetypes())


def image_format(path, option):
    """Pillow's format name for ``path``'s extension, or ValueError if Pillow cannot write it."""
    from PIL import Image

    Image.init()
    ext = os.path.splitext(os.fspath(path))[1].lower()
    fmt = Image.registered_extensions().get(ext)
    if fmt is None or fmt not in Image.SAVE:
        raise ValueError(f"{_show(option, path)}: unknown image type {ext or '(no extension)'!r}; "
                         "use .png or .jpg")
    return fmt


def check_output(path, option, kind="text"):
    """Check that ``path`` can be written as the output of ``option`` (see the module docstring).

    Parameters
    ----------
    path : str or os.PathLike
    option : str
        How the user gave it (``"--save"``, or a positional's name), for the message.
    kind : {"model", "plot", "image", "text"}

    Returns
    -------
    str
        The path as a string.

    Raises
    ------
    ValueError
        With one line naming ``option`` and what is wrong.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    path = os.fspath(path)
    where = _show(option, path)
    if not path:
        raise ValueError(f"{option}: the file name is empty")
    if os.path.isdir(path):
        example = os.path.join(path, "model.npz" if kind == "model" else "out.png" if kind != "text" else "out.txt")
        raise ValueError(f"{where} is a folder; give a file name (for example {example!r})")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.exists(folder):
        raise ValueError(f"{where}: folder {os.path.dirname(path) or folder!r} does not exist")
    if not os.path.isdir(folder):
        raise ValueError(f"{where}: {os.path.dirname(path)!r} is not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ValueError(f"{where}: folder {os.path.dirname(path) or folder!r} is not writable")
    if os.path.lexists(path):
        if not os.path.isfile(path):
            raise ValueError(f"{where} exists and is not a regular file; give another file name")
        if not os.access(path, os.W_OK):
            raise ValueError(f"{where} is read-only; give another file name or make it writable")
    ext = os.path.splitext(path)[1].lower()
    if kind == "model" and ext != ".npz":
        raise ValueError(f"{where}: a model file name must end in .npz (for example "
                         f"{os.path.splitext(path)[0] + '.npz'!r})")
    if kind == "plot":
        formats = plot_formats()
        if ext.lstrip(".") not in formats:
            raise ValueError(f"{where}: matplotlib cannot write {ext or 'a file without extension'!r}; "
                             "use .png, .pdf, .svg or .jpg (or another of matplotlib's formats)")
    if kind == "image":
        image_format(path, option)
    return path


def check_input(path, option):
    """ValueError (one line naming ``option``) unless ``path`` is an existing file."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise ValueError(f"{_show(option, path)}: no such file")
    if os.path.isdir(path):
        raise ValueError(f"{_show(option, path)} is a folder; give a file")
    return path


def same_file(a, b):
    """True if ``a`` and ``b`` name the same file (the same existing file, or the same
    absolute path once symbolic links are resolved)."""
    a, b = os.fspath(a), os.fspath(b)
    with contextlib.suppress(OSError):
        if os.path.exists(a) and os.path.exists(b):
            return os.path.samefile(a, b)
    return os.path.normcase(os.path.realpath(a)) == os.path.normcase(os.path.realpath(b))


def check_outputs(outputs, inputs=(), same_ok=()):
    """Check every output of a command (:func:`check_output`) and that no two clash.

    Parameters
    ----------
    outputs : iterable of (option, path, kind)
        ``path`` None (option not given) is skipped.
    inputs : iterable of (option, path, kind)
        What the command reads: ``kind`` "file" must be an existing file
        (:func:`check_input`); "any" (a data set's name, file or folder) is only
        compared with the outputs.  ``path`` None is skipped.
    same_ok : iterable of (option, option)
        Pairs of outputs allowed to name the same file.

    Raises
    ------
    ValueError
        For the first mistake found, naming its option.
    """
    inputs = [(option, path, kind) for option, path, kind in inputs if path is not None]
    for option, path, kind in inputs:
        if kind == "file":
            check_input(path, option)
    given = [(option, check_output(path, option, kind)) for option, path, kind in outputs if path is not None]
    allowed = {frozenset(pair) for pair in same_ok}
    for option, path in given:
        for in_option, in_path, _ in inputs:
            if os.path.isfile(os.fspath(in_path)) and same_file(path, in_path):
                raise ValueError(f"{_show(option, path)} is also the file the command reads as {in_option}; "
                                 "it would be overwritten: give another file name")
    for i, (option, path) in enumerate(given):
        for other, other_path in given[i + 1:]:
            if frozenset((option, other)) not in allowed and same_file(path, other_path):
                raise ValueError(f"{_show(option, path)}: {other} names the same file; give each its own")
    return [path for _, path in given]


def lock_name(path):
    """The lock file of output ``path``: ``.NAME.lock`` in its folder."""
    folder, name = os.path.split(os.path.abspath(os.fspath(path)))
    return os.path.join(folder, f".{name}.lock")


@contextlib.contextmanager
def locked(path, option):
    """Hold an exclusive lock on output ``path`` inside the block, or raise ValueError at once if
    another process holds it (the sweep's results file works the same way).

    The lock is a POSIX ``flock`` on :func:`lock_name`; the lock file is
    removed on leaving.  A process that dies leaves at most an unlocked lock
    file, which the next command takes over.  Without ``fcntl`` (not POSIX) or
    on a file system refusing locks, the block runs unlocked.
    """
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock
        yield
        return
    name = lock_name(path)
    while True:
        fd = os.open(name, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise ValueError(f"{_show(option, path)} is being written by another running fastnn command; "
                             "wait for it to finish or give another file name") from None
        except OSError:  # a file system without locks (some network mounts): go on unlocked
            os.close(fd)
            yield
            return
        # the holder before us may have removed the lock file between our open and flock:
        # then we hold a lock on a file nobody else will open; take the one now in place
        try:
            current = os.stat(name)
        except FileNotFoundError:
            current = None
        mine = os.fstat(fd)
        if current is not None and (current.st_dev, current.st_ino) == (mine.st_dev, mine.st_ino):
            break
        os.close(fd)
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            os.unlink(name)
        os.close(fd)


@contextlib.contextmanager
def writing(outputs, inputs=(), same_ok=()):
    """Check a command's outputs (:func:`check_outputs`), then hold a lock on each inside the block.

    Call it before any work: every mistake is a one-line ValueError naming the
    option (the command line's exit status 2), and nothing has been read,
    trained or written yet.  ``fastnn.cli.main`` calls it with what the
    command's ``check(args)`` returns (``set_defaults(check=...)``).
    """
    outputs = list(outputs)
    paths = check_outputs(outputs, inputs, same_ok)
    options = [option for option, path, _ in outputs if path is not None]
    with contextlib.ExitStack() as stack:
        held = []
        for option, path in zip(options, paths):
            if not any(same_file(path, other) for other in held):
                stack.enter_context(locked(path, option))
                held.append(path)
        yield paths
