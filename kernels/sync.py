"""Atomic counters for threads that train one epoch together (issue 28).

numba's parallel regions end with a join: the book's mini-batch of 10 started one region per
mini-batch, and at [784,30,10] the start and the join cost about a sixth of the work between
them.  The members of a team (:mod:`fastnn.kernels.team`) each run the whole epoch on a thread of
their own instead, and wait for each other with :func:`barrier` (0.07 us on two threads when both
run, measured on an Intel Xeon).  numba offers no atomic operations, so the ones used here are
LLVM's (an atomic add, an acquire load, a compare-exchange, and x86's ``pause`` while waiting),
emitted by ``numba.extending.intrinsic``.

A counter lives in an int64 array, one counter per cache line (:data:`LINE` elements apart), so
that two counters never share a line.  The array is made by :func:`new_counters` for each team.
"""
import platform

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

LINE = 8
"""int64 elements per 64-byte cache line: counter ``i`` is element ``i * LINE``."""

ARRIVED, VERDICT, PASSED = 0, 1, 2
"""The counters: members arrived at the meeting, its verdict, arrivals at barriers since."""

PENDING, MET, ABANDONED = 0, 1, 2
"""Verdicts of the meeting (:func:`meet`)."""

MEETING_SPINS = 1 << 22
"""Waits (each a ``pause`` on x86) after which a member stops waiting for the others at the
meeting: 0.05 s on the Intel Xeon of docs/performance.md, longer where ``pause`` is slower.  A
member may never come while the one waiting runs, e.g. when the pool's threads are busy with
another team: then waiting would never end."""

_X86 = platform.machine().lower() in ("x86_64", "amd64", "i386", "i686", "x86")


def new_counters():
    """Zeroed counters for one team."""
    return np.zeros(3 * LINE, dtype=np.int64)


def _pointer(context, builder, array_type, array, index):
    data = context.make_array(array_type)(context, builder, array)
    return cgutils.get_item_pointer(context, builder, array_type, data, [index])


@intrinsic
def _fetch_add(typingctx, counters, index, value):
    """``counters[index] += value`` as one atomic operation (sequentially consistent);
    returns the old value."""
    def codegen(context, builder, sig, args):
        return builder.atomic_rmw("add", _pointer(context, builder, sig.args[0], args[0], args[1]), args[2],
                                  "seq_cst")
    return types.int64(counters, index, types.int64), codegen


@intrinsic
def _load(typingctx, counters, index):
    """``counters[index]`` read atomically, with acquire ordering: what a thread wrote before
    its atomic update of the counter is visible after this read sees the update."""
    def codegen(context, builder, sig, args):
        return builder.load_atomic(_pointer(context, builder, sig.args[0], args[0], args[1]), "acquire", 8)
    return types.int64(counters, index), codegen


@intrinsic
def _compare_exchange(typingctx, counters, index, expected, value):
    """``counters[index] = value`` if it holds ``expected``, as one atomic operation; returns
    the value it held."""
    def codegen(context, builder, sig, args):
        pair = builder.cmpxchg(_pointer(context, builder, sig.args[0], args[0], args[1]), args[2], args[3],
                               "seq_cst", "seq_cst")
        return builder.extract_value(pair, 0)
    return types.int64(counters, index, types.int64, types.int64), codegen


@intrinsic
def _pause(typingctx):
    """x86's ``pause`` (a spinning thread's hint to the core), nothing elsewhere."""
    def codegen(context, builder, sig, args):
        if _X86:
            hint = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.VoidType(), []),
                                                  "llvm.x86.sse2.pause")
            builder.call(hint, [])
        return context.get_dummy_value()
    return types.void(), codegen


@njit(cache=True)
def meet(counters, members):
    """Wait until all ``members`` members of a team have arrived, or give up.

    Returns True if all met, so that each may go on with :func:`barrier`; False if one
    waited :data:`MEETING_SPINS` times in vain (a member had not started): then every
    member, the late ones too, gets False and must leave without having changed anything.  The last to arrive and the first to give up settle the
    verdict by one compare-exchange, so all members get the same answer.
    """
    if _fetch_add(counters, ARRIVED * LINE, 1) + 1 == members:
        _compare_exchange(counters, VERDICT * LINE, PENDING, MET)
    spins = 0
    verdict = _load(counters, VERDICT * LINE)
    while verdict == PENDING:
        _pause()
        spins += 1
        if spins == MEETING_SPINS:
            _compare_exchange(counters, VERDICT * LINE, PENDING, ABANDONED)
        verdict = _load(counters, VERDICT * LINE)
    return verdict == MET


@njit(cache=True)
def barrier(counters, members, rounds):
    """Wait until all ``members`` have called this for the ``rounds + 1``-th time (``rounds``
    counts the calls before, the same in every member).  Only after :func:`meet` returned
    True: every member then runs, so the wait ends."""
    _fetch_add(counters, PASSED * LINE, 1)
    target = members * (rounds + 1)
    while _load(counters, PASSED * LINE) < target:
        _pause()
