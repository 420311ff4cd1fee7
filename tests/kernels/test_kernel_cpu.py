"""fastnn.kernels.cpu: the CPU features the register blocks and the panels' widths are sized from."""
from llvmlite import binding

from fastnn.kernels import cpu


def test_features_read_llvm_feature_strings_and_mappings():
    assert cpu.features("+avx2,-avx512f,+fma") == {"avx2": True, "avx512f": False, "fma": True}
    assert cpu.features(",avx2,+,-x") == {"x": False}  # entries without a sign or a name are ignored
    given = {"avx512f": True}
    assert cpu.features(given) is given


def test_features_default_to_what_numba_compiles_for(monkeypatch):
    import numba

    monkeypatch.setattr(numba.config, "CPU_FEATURES", "+avx512f,+avx2")
    assert cpu.features() == {"avx512f": True, "avx2": True} and cpu.has_avx512()
    monkeypatch.setattr(numba.config, "CPU_FEATURES", None)
    try:
        host = dict(binding.get_host_cpu_features())
    except RuntimeError:  # a platform where LLVM cannot read them (tested below)
        host = {}
    assert cpu.features() == host


def test_has_avx512_follows_avx512f_only():
    assert cpu.has_avx512("+avx512f") and cpu.has_avx512({"avx512f": True})
    assert not cpu.has_avx512("+avx2,+avx512bw,-avx512f") and not cpu.has_avx512({})
    assert cpu.host_features() == cpu.features() and cpu.host_features() is cpu.host_features()  # asked once


def test_features_are_empty_where_llvm_cannot_read_them(monkeypatch):
    import numba

    def cannot_read():
        raise RuntimeError("no feature detection on this platform")

    monkeypatch.setattr(numba.config, "CPU_FEATURES", None)
    monkeypatch.setattr(binding, "get_host_cpu_features", cannot_read)
    assert cpu.features() == {} and not cpu.has_avx512()
