"""Training on several threads as a team that meets at a barrier, not a region per mini-batch (issue 28).

On more than one thread, ``fastnn.kernels.tiled._run`` shares each mini-batch's first layer
between the threads of a numba parallel region, started and joined per mini-batch, and runs the
rest of the mini-batch on one thread.  At the book's mini-batch of 10 the start and the join cost
about 4 us on two cores, against ~25 us of work per mini-batch.  A team instead runs the whole
epoch on its threads, :func:`run_members` starting one call of ``_run`` per member:

* member ``p`` of ``members`` trains the same rows of ``W^1`` as part ``p`` of the parallel region
  would, with the same code: the previous mini-batch's step (BP3-BP4, eq. 20-21 and 93), then this
  one's forward pass (eq. 23);
* it waits for the others at :func:`fastnn.kernels.sync.barrier` (a few tens of nanoseconds when
  all run) and copies their hidden activations into its own buffer;
* it runs the deeper layers and the deltas (BP1-BP2) whole, as one thread does: the book's deeper
  layers are too small to share, and no second barrier is needed.  Member 0 updates ``theta``'s
  deeper layers; the others update copies of them, the same values.

Every value is computed by the same compiled function, in the same order, whatever the number of
members, so results are bit-identical to one thread's.  The members are threads of a pool, not of
numba's threading layer: a second parallel function would cost seconds of compilation on a first
run.  If they do not all run at once (the pool is busy with another team), they give up before
changing anything and the epoch runs as before.
"""
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from . import sync


MIN_BATCHES = 128
"""Mini-batches a call must hold to be trained as a team by default.  Starting a team costs a
hand-off to a thread of the pool and back (75-80 us measured on an Intel Xeon under KVM, where a
waiting thread takes ~40 us to wake), against ~2 us saved per mini-batch at [784,30,10]: shorter
calls (``partial_fit``, the thread chooser's first trial runs) start a parallel region per
mini-batch as before."""


def suits(sizes, mini_batch_size, block_rows, min_work):
    """Whether :func:`fastnn.kernels.tiled.sgd_epoch` trains a network of ``sizes`` as a team by
    default (its register blocks of ``block_rows`` rows, not the panels): its first layer has at
    least two blocks of rows to share and is worth sharing, and every deeper layer is small enough
    to run on one thread (``min_work``: :data:`fastnn.kernels.tiled.PARALLEL_MIN_WORK`
    multiply-adds per mini-batch)."""
    m = mini_batch_size
    if sizes[1] <= block_rows or sizes[0] * sizes[1] * m < min_work:
        return False
    return all(sizes[l] * sizes[l + 1] * m < min_work for l in range(1, len(sizes) - 1))


def members_for(sizes, threads, block_rows):
    """Members of a team: one per thread, at most one per block of the first layer's rows."""
    return max(1, min(threads, (sizes[1] + block_rows - 1) // block_rows))


def _helpers(count):
    """A pool of at least ``count`` threads that run members 1, 2, ... of a team (member 0 runs
    on the caller's thread); made once per process, and again larger if more are needed."""
    global _POOL, _POOL_SIZE
    if _POOL is None or _POOL_SIZE < count:
        _POOL = ThreadPoolExecutor(max_workers=count, thread_name_prefix="fastnn-team")
        _POOL_SIZE = count
    return _POOL


def _forget_pool():
    """After a fork: the child has none of the pool's threads (a task given to it would never
    run), so the next team makes a new pool."""
    global _POOL, _POOL_SIZE
    _POOL, _POOL_SIZE = None, 0


_POOL, _POOL_SIZE = None, 0
os.register_at_fork(after_in_child=_forget_pool)


def run_members(run, members, theta, w_off, b_off, sizes, X, Y, order, mini_batch_size, eta, decay, cost,
                weight, metrics, out, block, tile):
    """Train one epoch as ``members`` members of a team, each a call of ``run``
    (``fastnn.kernels.tiled._run``, which releases the GIL) on a thread of its own, member 0
    on the caller's; the arguments are ``run``'s, up to ``tile``.  Member 0 works on ``theta``
    itself and adds to ``metrics``; member p > 0 keeps its deeper layers in a copy of ``theta``.

    Returns the count of non-finite z of the first layer, or None if the members did not meet
    (:func:`fastnn.kernels.sync.meet`; then ``theta`` and ``metrics`` are unchanged, and the caller
    runs the epoch otherwise)."""
    mb = min(mini_batch_size, order.shape[0])
    shared_acts = np.empty((members, 2 * mb * int(np.sum(sizes[1:]))), dtype=theta.dtype)
    counters = sync.new_counters()
    deeper = w_off[1] if w_off.shape[0] > 1 else theta.shape[0]

    def member(p):
        own_theta = theta
        if p > 0:
            own_theta = np.empty_like(theta)
            own_theta[deeper:] = theta[deeper:]  # the deeper layers (its first layer is never read)
        return run(theta, w_off, b_off, sizes, X, Y, order, mini_batch_size, eta, decay, cost, 1, weight,
                   metrics if p == 0 else metrics[:0], out, block, tile, p, members, counters, own_theta, shared_acts)

    others = [_helpers(members - 1).submit(member, p) for p in range(1, members)]
    counts = [member(0)] + [f.result() for f in others]
    return None if min(counts) < 0 else int(sum(counts))
