"""A numba compiler pipeline that lets LLVM fill the CPU's widest vectors in one function (issue 28).

LLVM models Intel's CPUs with AVX-512 as preferring 256-bit vectors (its ``prefer-256-bit``
tuning): its vectorizers then leave half of every 512-bit register unused, in every function numba
compiles (measured on an Intel Xeon that LLVM names ``rocketlake``: no ``zmm`` register in any kernel).  The function attribute ``"prefer-vector-width"="512"`` lifts that for one
function.  Numba has no option for it, so :class:`WideVectorCompiler` is numba's standard
nopython pipeline whose lowering adds the attribute to the function it compiles; pass it as
``@njit(pipeline_class=WideVectorCompiler)``.  The panels' tiles (:mod:`fastnn.kernels._tiles`)
are compiled this way; the rest of the kernels keep LLVM's choice (the register blocks of
:mod:`fastnn.kernels.tiled` ran slower at mini-batch 10 with 512-bit vectors on that Xeon:
docs/performance.md).  On a CPU without AVX-512 the attribute changes nothing, nor on one whose
LLVM model already uses 512-bit vectors (AMD Zen 5, measured).
"""
from numba.core import lowering
from numba.core.compiler import CompilerBase, DefaultPassBuilder
from numba.core.compiler_machinery import register_pass
from numba.core.typed_passes import NativeLowering

PREFER_WIDE = '"prefer-vector-width"="512"'
"""The LLVM function attribute (a string attribute, written as in LLVM's textual IR)."""


class _WideLower(lowering.Lower):
    """numba's lowering, with :data:`PREFER_WIDE` on the function it lowers."""

    def post_lower(self):
        super().post_lower()
        # llvmlite's attribute set accepts LLVM's enum attributes only, but writes each member
        # into the function's textual IR, which LLVM then parses: add the string attribute as is
        set.add(self.function.attributes, PREFER_WIDE)


@register_pass(mutates_CFG=True, analysis_only=False)
class _WideNativeLowering(NativeLowering):
    _name = "fastnn_wide_vector_lowering"

    @property
    def lowering_class(self):
        return _WideLower


class WideVectorCompiler(CompilerBase):
    """numba's nopython pipeline, lowering through :class:`_WideLower`."""

    def define_pipelines(self):
        pm = DefaultPassBuilder.define_nopython_pipeline(self.state)
        pm.passes = [(_WideNativeLowering if pss is NativeLowering else pss, what) for pss, what in pm.passes]
        pm.finalize()
        return [pm]
