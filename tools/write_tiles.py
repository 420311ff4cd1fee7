"""Write ``kernels/_tiles.py``: the GEMM-style register tiles of the panel kernels, unrolled.

Usage::

    python tools/write_tiles.py [--check]

:mod:`fastnn.kernels.panels` keeps a layer's ``W`` as panels of ``W^T`` (``width`` output rows side
by side) and runs its two products of a mini-batch step through tiles of ``SAMPLES`` samples or
inputs x ``width`` rows: each step of the loop loads one row of a panel (two vectors) and
broadcasts ``SAMPLES`` inputs into ``SAMPLES x width`` running sums.  Numba has no vector type and
no stack array, so the running sums are written out as scalars, one name each, which LLVM's SLP
vectorizer packs into vector registers; that code is long and regular, so it is generated here
once and committed (``--check`` exits 1 if the file differs from what this writes;
``tests/kernels/test_kernel_panels.py`` checks it too).  The widths: 8 (two AVX2 vectors of
float64) and 16 (two AVX2 vectors of float32; two AVX-512 vectors of float64, one of float32).
"""
import argparse
import os
import sys
import tempfile

SAMPLES = 6
"""Samples (forward tile) or inputs (step tile) per tile: 6 x 2 vector sums fit AVX2's 16 registers
with the two loads of a panel row and a broadcast."""

WIDTHS = (8, 16)
"""Output rows per panel: 8 float64 (AVX2) or 16 (float32, and float64 with AVX-512)."""

TARGET = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "kernels", "_tiles.py")

HEADER = '''"""GEMM-style register tiles for :mod:`fastnn.kernels.panels` (generated: do not edit).

Written by ``tools/write_tiles.py``, which explains the form; edit that file and run it again.
A tile holds {samples} x ``width`` running sums as scalars, one name each (``c<i>_<v>``: sample or
input ``i``, output row ``v`` of the panel), which LLVM's SLP vectorizer packs into vector
registers when :mod:`fastnn.kernels.panels` compiles them (512-bit ones where the CPU has them:
``kernels/_wide_vectors.py``).  Each sum is one chain of
multiply-adds in a fixed order (fastmath ``contract`` only: no reassociation), so a value's bits
do not depend on which tile, panel or thread computed it.
"""
from numba import njit, uint64

from ._wide_vectors import WideVectorCompiler
from .activations import zero_like

TILE_FASTMATH = {{"contract"}}
"""Fused multiply-add allowed; the order of every sum fixed."""

SAMPLES = {samples}
"""Samples (forward) or inputs (step) per tile."""
'''


def _sums(width):
    return [[f"c{i}_{v}" for v in range(width)] for i in range(SAMPLES)]


def forward_tile(width):
    """Source of ``forward_tile_<width>``: ``o_i[v] = sum_k x_i[k] panel[k * width + v]``."""
    c = _sums(width)
    xs = ", ".join(f"x{i}" for i in range(SAMPLES))
    os_ = ", ".join(f"o{i}" for i in range(SAMPLES))
    lines = ["", "", "@njit(fastmath=TILE_FASTMATH, cache=True, pipeline_class=WideVectorCompiler)",
             f"def forward_tile_{width}({xs}, panel, n_in, {os_}):",
             f'    """o_i[v] += sum_k x_i[k] panel[k * {width} + v] for the {SAMPLES} inputs x_i and the panel\'s '
             f'{width} rows',
             '    (eq. 23 without the bias, for a block of k); each sum runs over k in order."""']
    for i in range(SAMPLES):
        lines += [f"    {c[i][v]} = o{i}[{v}]" for v in range(width)]
    lines += ["    for k in range(n_in):", f"        at = k * {width}"]
    lines += [f"        b{v} = panel[at + {v}]" for v in range(width)]
    for i in range(SAMPLES):
        lines += [f"        a = x{i}[k]"] + [f"        {c[i][v]} += a * b{v}" for v in range(width)]
    for i in range(SAMPLES):
        lines += [f"    o{i}[{v}] = {c[i][v]}" for v in range(width)]
    return lines


def step_tile(width):
    """Source of ``step_tile_<width>``: one block of ``SAMPLES`` inputs of a panel stepped by a mini-batch."""
    c = _sums(width)
    lines = ["", "", "@njit(fastmath=TILE_FASTMATH, cache=True, pipeline_class=WideVectorCompiler)",
             f"def step_tile_{width}(inputs, n, scaled, panel_rows, decay):",
             f'    """panel_rows[i * {width} + v] -> decay * panel_rows[i * {width} + v] + g_iv, with',
             f"    g_iv = sum_s inputs[s * {SAMPLES} + i] scaled[s * {width} + v],",
             "",
             f"    for a block of {SAMPLES} inputs of the mini-batch's n samples, packed sample by sample "
             "(``inputs``): the",
             "    step of eq. 20 (BP4, with eq. 93's decay) for the panel's rows, ``scaled`` holding "
             "-(eta/m) delta_sj.",
             "    g_iv is summed over s in order, from zero, and added to the weight once (as the book adds "
             "the",
             "    summed gradient), not term by term at the weight's scale.",
             '    """',
             "    zero = zero_like(decay)"]
    lines += ["    " + " = ".join(row) + " = zero" for row in c]
    lines += ["    for s in range(n):",
              f"        at = uint64(s) * uint64({SAMPLES})  # unsigned offsets: no code for negative indices",
              f"        base = s * {width}"]
    lines += [f"        b{v} = scaled[base + {v}]" for v in range(width)]
    for i in range(SAMPLES):
        lines += [f"        a = inputs[at + uint64({i})]"] + [f"        {c[i][v]} += a * b{v}" for v in range(width)]
    for i in range(SAMPLES):
        lines += [f"    panel_rows[{i * width + v}] = decay * panel_rows[{i * width + v}] + {c[i][v]}"
                  for v in range(width)]
    return lines


def source():
    """The whole text of ``kernels/_tiles.py``."""
    lines = HEADER.format(samples=SAMPLES).rstrip("\n").split("\n")
    for width in WIDTHS:
        lines += forward_tile(width) + step_tile(width)
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if kernels/_tiles.py differs, write nothing")
    args = parser.parse_args(argv)
    text = source()
    if args.check:
        with open(TARGET, encoding="utf-8") as f:
            same = f.read() == text
        print("kernels/_tiles.py is " + ("up to date" if same else "out of date: run tools/write_tiles.py"))
        return 0 if same else 1
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(TARGET), suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, TARGET)
    print(f"wrote {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
