"""The panel kernels of :mod:`fastnn.kernels.panels` (the first layer at mini-batches of 32 and more)
against plain NumPy products, piece by piece; the whole epoch through them is compared with
:mod:`fastnn.kernels.mlp` in tests/kernels/test_kernel_tiled.py (its ``panels`` cases).

Both panel widths run on every machine in both precisions (8 and 16 rows: AVX2's width for float64
and AVX-512's and float32's), and an epoch gives the same bits whatever the width.  Shapes hit every
remainder: inputs not a multiple of the tiles' 6 or of ``K_BLOCK`` (1, 5, 7, 13, 300, 785), output
rows not a multiple of the panel width (1, 9, 17, 33, 257), more panels than a ``GROUP`` (257 rows:
33 panels of 8, 17 of 16), and sample counts not a multiple of 6 (1..13).
Tolerances: float64 sums of up to 785 products of values ~1, <= 1e-12; float32 <= 2e-4 (relative
to sums of size ~300, a few float32 ulps).
"""
import os
import subprocess
import sys

import numpy as np
import pytest
from numba import config

from fastnn import _params
from fastnn.kernels import _tiles, cpu, panels, tiled

TOOLS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "tools")
SHAPES = [(1, 1), (5, 9), (7, 17), (12, 8), (13, 257), (300, 33), (785, 16)]  # (n_in, n_out)
TOL = {np.float64: 1e-12, np.float32: 2e-4}
TILES = [(np.float64, 8), (np.float64, 16), (np.float32, 8), (np.float32, 16)]  # (dtype, panel width)
TILE_IDS = ["float64x8", "float64x16", "float32x8", "float32x16"]


def layer(n_in, n_out, dtype, seed=0):
    """Random W (n_out x n_in) in a flat theta after 3 other values, inputs of 40 samples."""
    rng = np.random.default_rng(seed)
    theta = rng.standard_normal(3 + n_out * n_in).astype(dtype)
    X = rng.random((40, n_in)).astype(dtype)
    return theta, X


def packed_layer(theta, n_in, n_out, tile):
    buf = np.full(panels.panel_count(n_out, tile) * n_in * len(tile), np.nan, dtype=theta.dtype)
    panels.pack(theta, 3, n_out, n_in, buf, tile)
    return buf


def weights(theta, n_in, n_out):
    return theta[3:].reshape(n_out, n_in)


@pytest.mark.parametrize("dtype, width", TILES, ids=TILE_IDS)
@pytest.mark.parametrize("n_in, n_out", SHAPES)
def test_pack_lays_w_out_by_panels_and_unpack_inverts_it(n_in, n_out, dtype, width):
    theta, _ = layer(n_in, n_out, dtype)
    tile = panels.panel_tile(dtype, width)
    buf = packed_layer(theta, n_in, n_out, tile)
    W = weights(theta, n_in, n_out)
    for j in range(panels.panel_count(n_out, tile) * width):
        q, v = divmod(j, width)
        column = buf[q * n_in * width + v::width][:n_in]
        np.testing.assert_array_equal(column, W[j] if j < n_out else 0)  # padding rows are zeros
    back = np.zeros_like(theta)
    panels.unpack(buf, back, 3, n_out, n_in, tile)
    np.testing.assert_array_equal(back[3:], theta[3:])
    assert not back[:3].any()  # nothing written outside W


def test_panel_widths_follow_the_cpu():
    for avx2 in ({"avx2": True}, "+avx2,-avx512f", {}):
        assert panels.width_for(np.float64, avx2) == 8 and panels.width_for(np.float32, avx2) == 16
    for avx512 in ({"avx2": True, "avx512f": True}, "+avx2,+avx512f,+fma"):
        assert panels.width_for(np.float64, avx512) == 16 and panels.width_for(np.float32, avx512) == 16
    host = cpu.has_avx512()
    assert panels.width_for(np.float64) == (16 if host else 8) and cpu.has_avx512(cpu.host_features()) == host
    assert panels.panel_tile(np.float32) == (0,) * panels.width_for(np.float32) and panels.NO_TILE == ()
    assert panels.panel_tile(np.float32, 8) == (0,) * 8 and panels.WIDTHS == (8, 16)
    for wrong in (0, 4, 12, 32, "16"):
        with pytest.raises(ValueError, match="width must be one of"):
            panels.panel_tile(np.float64, wrong)
    assert [panels.panel_count(n, (0,) * 8) for n in (1, 8, 9, 16, 17)] == [1, 1, 2, 2, 3]


@pytest.mark.parametrize("dtype, width", TILES, ids=TILE_IDS)
@pytest.mark.parametrize("n_in, n_out", SHAPES)
def test_forward_panels_give_the_weighted_inputs(n_in, n_out, dtype, width):
    """z = X[rows] W^T for 1..13 samples (read through a row order, from column 2 of a wider
    buffer), by all the panels at once and by one panel at a time."""
    theta, X = layer(n_in, n_out, dtype)
    tile = panels.panel_tile(dtype, width)
    panels.compile_tiles(dtype, width)
    buf = packed_layer(theta, n_in, n_out, tile)
    n_panels = panels.panel_count(n_out, tile)
    stride = n_panels * len(tile)
    wide = np.hstack([np.full((40, 2), np.nan, dtype), X]).astype(dtype)
    for m in range(1, 14):
        rows = np.random.default_rng(m).permutation(40)[:m].astype(np.int64)
        expected = X[rows].astype(np.float64) @ weights(theta, n_in, n_out).T.astype(np.float64)
        for split in ([(0, n_panels)], [(q, q + 1) for q in range(n_panels)]):
            z = np.full(((m + 5) // 6 * 6) * stride, np.nan, dtype)
            for q_lo, q_hi in split:
                panels.forward_panels(tile, buf, q_lo, q_hi, n_in, wide.ravel(), n_in + 2, rows, 2, m, z, stride)
            got = z.reshape(-1, stride)[:m, :n_out]
            assert z.dtype == dtype
            np.testing.assert_allclose(got, expected, rtol=0, atol=TOL[dtype] * max(1, n_in / 100), err_msg=str(m))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n_in", [1, 5, 6, 7, 13, 785])
def test_pack_inputs_lays_the_samples_out_in_blocks_of_six(n_in, dtype):
    """inputs[(kb * m + s) * 6 + i] = a_s[kb * 6 + i], zero past n_in, for samples read through a
    row order from column 2 of a wider buffer, all blocks at once or a range at a time."""
    rng = np.random.default_rng(n_in)
    X = rng.random((40, n_in)).astype(dtype)
    wide = np.hstack([np.full((40, 2), np.nan, dtype), X]).astype(dtype)
    n_blocks = panels.block_count(n_in)
    assert n_blocks == -(-n_in // panels.SAMPLES)
    for m in (1, 7, 13):
        rows = rng.permutation(40)[:m].astype(np.int64)
        padded = np.zeros((m, n_blocks * panels.SAMPLES), dtype)
        padded[:, :n_in] = X[rows]
        expected = padded.reshape(m, n_blocks, panels.SAMPLES).transpose(1, 0, 2).ravel()
        for split in ([(0, n_blocks)], [(kb, kb + 1) for kb in range(n_blocks)]):
            inputs = np.full(n_blocks * panels.SAMPLES * m, np.nan, dtype)
            for kb_lo, kb_hi in split:
                panels.pack_inputs(wide.ravel(), n_in + 2, rows, 2, m, n_in, kb_lo, kb_hi, inputs)
            np.testing.assert_array_equal(inputs, expected, err_msg=f"m={m}, split={split}")


def packed_inputs(X, rows, n_in):
    """The inputs of X[rows] packed for :func:`fastnn.kernels.panels.step_panels`."""
    m = len(rows)
    inputs = np.full(panels.block_count(n_in) * panels.SAMPLES * m, np.nan, X.dtype)
    panels.pack_inputs(X.ravel(), n_in, rows, 0, m, n_in, 0, panels.block_count(n_in), inputs)
    return inputs


def direct_step(theta, X, rows, delta, n_in, n_out, step, decay):
    W = weights(theta, n_in, n_out).astype(np.float64)
    return decay * W - step * (delta.astype(np.float64).T @ X[rows].astype(np.float64))


@pytest.mark.parametrize("dtype, width", TILES, ids=TILE_IDS)
@pytest.mark.parametrize("n_in, n_out", SHAPES)
def test_step_panels_apply_the_mini_batch_step(n_in, n_out, dtype, width):
    """w -> decay w - step sum_s delta_sj a_sk (BP4, eq. 20, eq. 93) for 1..13 samples whose deltas
    sit in a wider buffer; the padding rows of the last panel stay zero."""
    theta, X = layer(n_in, n_out, dtype)
    tile = panels.panel_tile(dtype, width)
    panels.compile_tiles(dtype, width)
    n_panels = panels.panel_count(n_out, tile)
    step, decay = dtype(0.37), dtype(0.99)
    for m in range(1, 14):
        rng = np.random.default_rng(m)
        rows = rng.permutation(40)[:m].astype(np.int64)
        delta = rng.standard_normal((m, n_out + 4)).astype(dtype)  # delta_sj at column 4 + j
        buf = packed_layer(theta, n_in, n_out, tile)
        scaled = np.full(n_panels * m * width, np.nan, dtype)
        panels.step_panels(tile, buf, 0, n_panels, 0, panels.block_count(n_in), n_in, n_out,
                           packed_inputs(X, rows, n_in), m, delta.ravel(), n_out + 4, 4, step, decay, scaled)
        new = np.zeros_like(theta)
        panels.unpack(buf, new, 3, n_out, n_in, tile)
        expected = direct_step(theta, X, rows, delta[:, 4:], n_in, n_out, step, decay)
        np.testing.assert_allclose(weights(new, n_in, n_out), expected, rtol=0,
                                   atol=TOL[dtype] * max(1, m / 10), err_msg=str(m))
        padding = buf.reshape(n_panels, n_in, width)[-1, :, n_out - (n_panels - 1) * width:]
        assert not padding.any()


def test_the_default_uses_panels_from_min_batch():
    assert tiled._first_layer_tile(np.dtype(np.float64), panels.MIN_BATCH - 1, 784, None) == ()
    assert tiled._first_layer_tile(np.dtype(np.float64), panels.MIN_BATCH, 784, None) == panels.panel_tile(np.float64)
    assert tiled._first_layer_tile(np.dtype(np.float32), 1, 784, True) == panels.panel_tile(np.float32)
    assert tiled._first_layer_tile(np.dtype(np.float32), 1000, 784, False) == ()


@pytest.mark.parametrize("dtype, n_in, largest", [(np.float64, 784, 5336), (np.float32, 784, 10672),
                                                   (np.float64, 6, 699050), (np.float32, 1, 1398101)])
def test_the_default_keeps_the_packed_inputs_within_max_packed_bytes(dtype, n_in, largest):
    """Two mini-batches' inputs packed in blocks of 6 (784 inputs: 786 values a sample) take at
    most MAX_PACKED_BYTES: full-batch gradient descent on 60,000 images runs the blocks, which copy
    nothing, unless panels=True asks for the panels."""
    per_sample = 2 * -(-n_in // panels.SAMPLES) * panels.SAMPLES * np.dtype(dtype).itemsize
    assert largest * per_sample <= panels.MAX_PACKED_BYTES < (largest + 1) * per_sample
    assert panels.chooses_panels(largest, n_in, dtype) and not panels.chooses_panels(largest + 1, n_in, dtype)
    by_default = panels.panel_tile(dtype) if 60000 <= largest else panels.NO_TILE
    assert tiled._first_layer_tile(np.dtype(dtype), 60000, n_in, None) == by_default
    assert tiled._first_layer_tile(np.dtype(dtype), 60000, n_in, True) == panels.panel_tile(dtype)


def test_the_default_is_bit_identical_to_asking_for_panels():
    """At MIN_BATCH the default takes the panel path (the same bits as panels=True), below it the
    blocks (the same bits as panels=False); the two paths differ in the last bits."""
    sizes, w_off, b_off, n = _params.layout([30, 20, 4])
    rng = np.random.default_rng(5)
    theta = rng.standard_normal(n)
    X, Y = rng.random((90, 30)), rng.random((90, 4))
    order = rng.permutation(90)

    def epoch(mb, **kw):
        t = theta.copy()
        tiled.sgd_epoch(t, w_off, b_off, sizes, X, Y, order, mb, 3.0, 1.0, 0, **kw)
        return t

    assert panels.MIN_BATCH == 32  # "mini-batches of 32 and more" (the docs, the measurements behind it)
    for mb, chosen in ((32, True), (31, False)):
        default, asked, other = epoch(mb), epoch(mb, panels=chosen), epoch(mb, panels=not chosen)
        np.testing.assert_array_equal(default, asked)
        assert not np.array_equal(default, other)
        assert np.abs(default - other).max() <= 1e-12


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_every_panel_width_gives_the_same_epoch(dtype):
    """Training epochs through panels of either width (140 rows: 18 panels of 8, more than a GROUP,
    or 9 of 16), split between 1 or 3 threads, give the same parameters and metrics: each z and
    each new weight is the same chain of multiply-adds.  Bit for bit between thread counts (the same
    compiled code); between widths to 1e-13, since one width's epoch may come from numba's disk cache
    and the other from a fresh compilation here (a pytest-xdist worker sharing the cache), and the
    other kernels' reassociated sums can round differently between the two (docs/guide/kernels.md,
    "Numba's cache"); bit for bit when both are compiled alike."""
    sizes, w_off, b_off, n = _params.layout([45, 140, 7])
    rng = np.random.default_rng(7)
    theta0 = (rng.standard_normal(n) * 0.2).astype(dtype)
    X, Y = rng.random((300, 45)).astype(dtype), rng.random((300, 7)).astype(dtype)
    order = rng.permutation(300).astype(np.int64)
    results = []
    for width in [w for d, w in TILES if d is dtype]:
        panels.compile_tiles(dtype, width)
        for threads in (1, 3):
            theta, metrics = theta0.copy(), np.zeros(3)
            tiled._run(theta, w_off, b_off, sizes, X, Y, order, 40, 3.0, dtype(0.999), 0, threads, theta[:0],
                       metrics, np.empty((0, 7), dtype), tiled.row_block(2), panels.panel_tile(dtype, width),
                       *tiled.no_team(theta))
            results.append((width, threads, theta, metrics))
    assert not np.array_equal(results[0][2], theta0) and results[0][3][2] == 300
    for width, threads, theta, metrics in results:
        first = next(r for r in results if r[0] == width)
        np.testing.assert_array_equal(theta, first[2], err_msg=f"width {width}, {threads} threads")
        np.testing.assert_array_equal(metrics, first[3])
        np.testing.assert_allclose(theta, results[0][2], rtol=0, atol=1e-13, err_msg=f"width {width}")
        np.testing.assert_allclose(metrics, results[0][3], rtol=1e-13)


def test_the_generated_tiles_are_what_the_generator_writes():
    out = subprocess.run([sys.executable, os.path.join(TOOLS, "write_tiles.py"), "--check"], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    assert _tiles.SAMPLES == panels.SAMPLES == 6


def test_the_tiles_compile_once_as_vector_code(tmp_path):
    """In a fresh process with an empty numba cache, an epoch through the panels compiles each tile
    once (the compilation made with the SLP vectorizer on, not a second one by a caller), asking
    LLVM for 512-bit vectors (the function attribute of :mod:`fastnn.kernels._wide_vectors`, which
    the drivers do not carry), and that code multiplies and adds whole vectors (packed ``vfmadd``),
    where the vectorizer, off by default, would leave one multiply-add per value; on a CPU with
    AVX-512, vectors of 512 bits (``zmm`` registers; neither checked under ``NUMBA_BOUNDSCHECK=1``,
    whose checks keep the sums apart)."""
    code = ("import re, numpy as np\n"
            "from fastnn import _params\n"
            "from fastnn.kernels import _tiles, _wide_vectors, panels, tiled\n"
            "sizes, w_off, b_off, n = _params.layout([20, 9, 3])\n"
            "for dt in (np.float64, np.float32):\n"
            "    theta = np.random.default_rng(0).standard_normal(n).astype(dt)\n"
            "    X = np.random.default_rng(1).random((50, 20)).astype(dt)\n"
            "    tiled.sgd_epoch(theta, w_off, b_off, sizes, X, X[:, :3], np.arange(50), 40, 3.0, dt(1), 0)\n"
            "for dt in (np.float64, np.float32):\n"
            "    for kind in ('forward', 'step'):\n"
            "        f = getattr(_tiles, f'{kind}_tile_{panels.width_for(dt)}')\n"
            "        sigs = [s for s in f.signatures if str(s[0].dtype) == np.dtype(dt).name]\n"
            "        sharing = [d for d in (np.float64, np.float32) if panels.width_for(d) == panels.width_for(dt)]\n"
            "        asm, ir = f.inspect_asm(sigs[0]), f.inspect_llvm(sigs[0])\n"
            "        print(len(sigs), len(f.signatures) - len(sharing) + 1, len(re.findall(r'vfmadd\\w*p[sd]\\s', asm)),"
            " len(re.findall(r'vfmadd\\w*s[sd]\\s', asm)), len(re.findall('%zmm', asm)),"
            " int(_wide_vectors.PREFER_WIDE in ir))\n"
            "driver = panels.pack_inputs\n"
            "print(int(_wide_vectors.PREFER_WIDE in driver.inspect_llvm(driver.signatures[0])))\n")
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path))
    env.pop("NUMBA_DISABLE_JIT", None)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=900, env=env)
    assert out.returncode == 0, out.stderr
    *tiles, driver = out.stdout.splitlines()
    assert len(tiles) == 4 and driver == "0", out.stdout  # the attribute is on the tiles only
    for line in tiles:
        signatures, all_but_sharing, packed, scalar, zmm, prefers_wide = map(int, line.split())
        # one compilation for this dtype, and one per dtype sharing the width (16 rows: float32 and,
        # with AVX-512, float64), no more
        assert signatures == 1 and all_but_sharing == 1 and prefers_wide == 1, line
        # bounds checks (CI's second pass) keep the vectorizer from packing the sums
        if _host_has_fma() and not config.BOUNDSCHECK:
            assert packed >= 6 and scalar == 0, line
            assert (zmm > 0) == cpu.has_avx512(), line


def _host_has_fma():
    from llvmlite import binding

    try:
        return bool(binding.get_host_cpu_features().get("fma"))
    except RuntimeError:
        return False
