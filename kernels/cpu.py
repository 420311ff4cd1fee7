"""What the CPU offers the kernels: its features as LLVM reports them, AVX-512 or not.

The register blocks (:func:`fastnn.kernels.tiled.block_rows_for_cpu`) and the panels' tiles
(:func:`fastnn.kernels.panels.width_for`) are sized from these answers, asked at run time.
"""
import functools


def features(given=None):
    """CPU features as a mapping of LLVM feature names to booleans.

    ``given`` is such a mapping, or a string of LLVM features such as ``"+avx2,-avx512f"``; by
    default the features numba compiles for: ``NUMBA_CPU_FEATURES`` if set, else what LLVM
    reports for the host (nothing, where LLVM cannot read them).
    """
    if given is None:
        import numba
        from llvmlite import binding

        given = numba.config.CPU_FEATURES
        if given is None:
            try:
                given = binding.get_host_cpu_features()
            except RuntimeError:  # LLVM cannot read the features on this platform
                given = {}
    if isinstance(given, str):
        given = {f[1:]: f[0] == "+" for f in given.split(",") if f[:1] in "+-" and len(f) > 1}
    return given


def has_avx512(given=None):
    """Whether the CPU has AVX-512 (``avx512f``): 32 vector registers of 64 bytes (AVX2: 16 of 32)."""
    return bool(features(given).get("avx512f", False))


@functools.cache
def host_features():
    """:func:`features` of the host (or of ``NUMBA_CPU_FEATURES``), asked once per process."""
    return features()
