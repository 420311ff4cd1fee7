"""Options of the command line: list and number values refused with the option named, help texts
that say what each option does and its default, per-demo options, ``train --threads``, what
training prints (eta halving, singular "1 epoch") and warnings without a source line."""
import argparse
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from fastnn.cli import build_parser, main
from test_cli_files import run  # noqa: F401  (the same runner)


def one_line_error(argv, command):
    code, out, err = run(argv)
    assert code == 2 and out == ""
    assert err.startswith(f"fastnn {command}: error: ") and err.count("\n") == 1, err
    assert "compiling" not in err
    return err


@pytest.mark.parametrize("argv, command, expected", [
    (["train", "--sizes", "64,,10"], "train", "argument --sizes: item 2 of '64,,10' is empty"),
    (["train", "--sizes", "64,x,10"], "train", "argument --sizes: 'x' in '64,x,10' is not an integer"),
    (["train", "--sizes", "64,0,10"], "train", "argument --sizes: 0 in '64,0,10' is not a positive size"),
    (["train", "--sizes", ",64,10"], "train", "argument --sizes: item 1 of ',64,10' is empty"),
    (["compare", "--sizes", "784,30,"], "compare", "argument --sizes: item 3 of '784,30,' is empty"),
    (["colorize", "train", "x.png", "--out", "m.npz", "--hidden", "32,,32"], "colorize train",
     "argument --hidden: item 2 of '32,,32' is empty"),
    (["colorize", "train", "x.png", "--out", "m.npz", "--hidden", "a"], "colorize train",
     "argument --hidden: 'a' in 'a' is not an integer"),
    (["train", "--early-stopping", "-3"], "train", "argument --early-stopping: expected an integer >= 0, got '-3'"),
    (["train", "--eta", "0"], "train", "argument --eta: expected a number > 0, got '0'"),
    (["train", "--epochs", "-1"], "train", "argument --epochs: expected an integer >= 0"),
    (["train", "--threads", "0"], "train", "argument --threads: expected a positive integer, got '0'"),
    (["sweep", "--workers", "0"], "sweep", "argument --workers: expected a positive integer, got '0'"),
    (["sweep", "--epochs", "-1"], "sweep", "argument --epochs: expected a positive integer, got '-1'"),
    (["sweep", "--seed", "-1"], "sweep", "argument --seed: expected an integer >= 0, got '-1'"),
    (["sweep", "--cv", "1"], "sweep", "argument --cv: expected an integer >= 2, got '1'"),
    (["compare", "--engines", "jit,numpy"], "compare", "argument --engines: must include 'reference'"),
])
def test_a_bad_value_is_refused_naming_the_option(argv, command, expected, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    err = one_line_error(argv, command)
    assert err.startswith(f"fastnn {command}: error: {expected}"), err
    assert os.listdir(tmp_path) == []


def test_an_empty_hidden_list_is_no_hidden_layer():
    args = build_parser().parse_args(["colorize", "train", "x.png", "--out", "m.npz", "--hidden", ""])
    assert args.hidden == ()
    assert build_parser().parse_args(["train", "--sizes", " 64, 30,10"]).sizes == [64, 30, 10]


def test_a_bad_grid_file_is_one_line_before_any_configuration(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.json").write_text("{not json")
    err = one_line_error(["sweep", "--serial", "--grid", "bad.json"], "sweep")
    assert "--grid 'bad.json' is not valid JSON" in err


def test_the_sweep_refuses_a_bad_fixed_argument_before_dask(tmp_path, monkeypatch):
    # no scheduler, no cluster, no configuration: the sweep function is never reached
    import fastnn.sweeps

    monkeypatch.setattr(fastnn.sweeps, "sweep", lambda *a, **k: pytest.fail("the sweep ran"))
    monkeypatch.chdir(tmp_path)
    one_line_error(["sweep", "--workers", "0"], "sweep")
    one_line_error(["sweep", "--epochs", "-1", "--serial"], "sweep")


# --------------------------------------------------------------------------- help

def subparsers(parser, prefix=("fastnn",)):
    """``(command words, parser)`` of every parser below ``parser``."""
    found = [(prefix, parser)]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found += subparsers(sub, prefix + (name,))
    return found


PARSERS = subparsers(build_parser())


@pytest.mark.parametrize("words, parser", PARSERS, ids=[" ".join(w) for w, _ in PARSERS])
def test_every_option_says_what_it_does_and_its_default(words, parser):
    text = parser.format_help()
    for action in parser._actions:
        if isinstance(action, (argparse._HelpAction, argparse._VersionAction, argparse._SubParsersAction)):
            continue
        assert action.help and len(action.help) > 10, f"{' '.join(words)} {action.dest}: no help"
        shown = parser._get_formatter()._get_help_string(action) % vars(action)
        flag = action.nargs == 0  # --no-progress: on or off
        if action.option_strings and not flag and not action.required:
            assert "default" in shown, f"{' '.join(words)} {action.option_strings}: no default in {shown!r}"
    for markup in ("``", ":class:", ":func:", ":mod:", ":data:"):
        assert markup not in text, f"{' '.join(words)} --help shows {markup}"


def test_fastnn_help_shows_no_markup():
    code, out, _ = run(["--help"])
    assert code == 0 and "``" not in out and "{train,predict," in out


def test_each_demo_has_its_own_options():
    code, out, _ = run(["demo", "gates", "--help"])
    assert code == 0 and "--epochs" not in out and "--hidden" not in out
    code, out, _ = run(["demo", "colorize", "--help"])
    assert code == 0 and "--hidden" in out and "--out" in out
    code, _, err = run(["demo", "gates", "--epochs", "3"])
    assert code == 2 and "unrecognized arguments: --epochs 3" in err


def test_compare_help_states_the_engines_rule():
    code, out, _ = run(["compare", "--help"])
    assert "must include 'reference'" in " ".join(out.split())


# --------------------------------------------------------------------------- train

@pytest.fixture
def recorded_threads(monkeypatch):
    """The ``threads`` of every Network the command creates."""
    import fastnn.network

    seen = []

    class Recording(fastnn.network.Network):
        def __init__(self, *args, **kwargs):
            seen.append(kwargs.get("threads"))
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(fastnn.network, "Network", Recording)
    return seen


def test_train_threads(recorded_threads, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, _ = run(["train", "--epochs", "1", "--no-progress", "--threads", "1"])
    assert code == 0 and "Epoch 0:" in out
    code, _, _ = run(["train", "--epochs", "1", "--no-progress"])
    assert code == 0
    assert recorded_threads == [1, None]


def test_train_prints_when_the_schedule_halves_eta(tmp_path, monkeypatch):
    # eta 10,000 saturates the network at once: the accuracy never improves after epoch 0
    monkeypatch.chdir(tmp_path)
    code, out, err = run(["train", "--epochs", "3", "--no-progress", "--eta", "10000", "--eta-schedule", "1"])
    assert code == 0
    lines = out.splitlines()
    assert [line.split(":")[0] for line in lines if line.startswith("Epoch")] == ["Epoch 0", "Epoch 1", "Epoch 2"]
    halved = lines.index("eta halved to 5000 after 1 epoch without improvement")
    assert lines[halved + 1].startswith("Epoch 2:")  # printed before the first epoch at the new eta
    # the divergence warning names the command, not a line of fastnn or of the console script
    warning = [line for line in err.splitlines() if "warning" in line]
    assert warning and warning[0].startswith("fastnn train: warning: training diverged")
    assert ".py" not in err and "line" not in err.lower().replace("online", "")


def test_a_warning_names_the_command_not_a_source_line(tmp_path, monkeypatch):
    from fastnn import Network
    from fastnn.datasets import load_digits

    monkeypatch.chdir(tmp_path)
    X, y = load_digits()
    Network([64, 10, 10], seed=0).fit(X[:200], y[:200], epochs=1).save("m.npz")
    np.save("u8.npy", np.full((3, 64), 200, dtype=np.uint8))
    code, out, err = run(["predict", "m.npz", "--data", "u8.npy"])
    assert code == 0 and len(out.split()) == 3
    assert err.startswith("fastnn predict: warning: X has dtype uint8") and err.count("\n") == 1
    assert err.rstrip().endswith("(UnscaledInputWarning)") and ".py" not in err


COLD = textwrap.dedent("""
    from fastnn import _numba_cache
    print(_numba_cache.announce_if_cold(["float64"]), _numba_cache.announce_if_cold(["float64"]))
""")


def test_the_compile_note_once_per_process(tmp_path):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path))
    done = subprocess.run([sys.executable, "-c", COLD], env=env, capture_output=True, text=True, timeout=300)
    if os.environ.get("NUMBA_DISABLE_JIT") == "1":
        pytest.skip("nothing compiles")
    assert done.stdout.split() == ["True", "False"]
    assert done.stderr.count("compiling kernels") == 1


def test_main_is_importable_as_documented():
    assert callable(main)
