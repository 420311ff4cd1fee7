"""Training as a team (:mod:`fastnn.kernels.team`) and its atomic counters (:mod:`fastnn.kernels.sync`).

A team's epoch must give the bits of the same epoch on one thread (``tiled._run`` as member 0 of
1), whatever the number of members (1-5 here, on however many cores the machine has: a member
that waits spins until the others are scheduled), the register block, the dtype, the cost, the
sample weights and the metrics; members that do not meet must leave everything unchanged, and
:func:`fastnn.kernels.tiled.sgd_epoch` then trains the epoch without a team.
"""
import multiprocessing
import threading
import time

import numba
import numpy as np
import pytest

from fastnn.kernels import mlp, panels, sync, team, tiled

from test_kernel_tiled import ETA, flat_net, samples, weights_for

SHAPES = [[40, 33, 9, 3], [19, 70, 5], [30, 9], [12, 5, 7]]
"""An odd pair of rows and a deep net; blocks shared by up to 5 members; no hidden layer (the
first layer is the output, copied to every member before BP1); two blocks of 4 rows, one row
left."""


def one_thread(theta, w_off, b_off, sizes, X, Y, order, mb, cost, weight, block_rows):
    """The epoch as one thread runs it: (theta, metrics, count of non-finite z)."""
    theta, metrics = theta.copy(), np.zeros(3)
    out = np.empty((0, sizes[-1]), theta.dtype)
    bad = tiled._run(theta, w_off, b_off, sizes, X, Y, order, mb, ETA, theta.dtype.type(0.99), cost, 1, weight,
                     metrics, out, tiled.row_block(block_rows), panels.NO_TILE, *tiled.no_team(theta))
    return theta, metrics, bad


def as_team(members, theta, w_off, b_off, sizes, X, Y, order, mb, cost, weight, block_rows):
    """The same epoch by ``members`` members: (theta, metrics, count or None)."""
    theta, metrics = theta.copy(), np.zeros(3)
    out = np.empty((0, sizes[-1]), theta.dtype)
    bad = team.run_members(tiled._run, members, theta, w_off, b_off, sizes, X, Y, order, mb, ETA,
                           theta.dtype.type(0.99), cost, weight, metrics, out, tiled.row_block(block_rows),
                           panels.NO_TILE)
    return theta, metrics, bad


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("block_rows", [2, 4])
@pytest.mark.parametrize("sizes", SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_every_team_gives_one_threads_bits(sizes, block_rows, dtype):
    theta0, w_off, b_off, sizes_arr = flat_net(sizes, dtype)
    X, Y = samples(sizes, 90, dtype)
    X[7, 3] = np.inf  # a sample whose z are all non-finite, counted by each member for its rows;
    order = np.random.default_rng(4).permutation(90)
    order = np.append(order[order != 7], 7)  # last, in the last mini-batch: no later step or z is NaN
    weight = weights_for(90, 5).astype(dtype)
    for cost, w, mb in [(mlp.CROSS_ENTROPY, weight, 13), (mlp.QUADRATIC, theta0[:0], 10),
                        (mlp.QUADRATIC, theta0[:0], 1)]:
        expected = one_thread(theta0, w_off, b_off, sizes_arr, X, Y, order, mb, cost, w, block_rows)
        assert not np.array_equal(expected[0], theta0, equal_nan=True) and expected[2] == sizes[1] and expected[1][2] > 0
        blocks = -(-sizes[1] // block_rows)
        for members in range(2, min(5, blocks) + 1):
            got = as_team(members, theta0, w_off, b_off, sizes_arr, X, Y, order, mb, cost, w, block_rows)
            assert np.array_equal(got[0], expected[0], equal_nan=True), (members, cost, mb)
            assert np.array_equal(got[1], expected[1], equal_nan=True) and got[2] == expected[2], (members, cost, mb)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sgd_epoch_on_two_threads_as_a_team_or_not_gives_the_same_bits(dtype):
    """Through the public function, with numba's thread count: the team (chosen by default for the
    book's shape at mini-batch 10) against the parallel region per mini-batch and one thread."""
    sizes = [784, 30, 10]
    assert team.suits(sizes, 10, tiled.block_rows_for_cpu(), tiled.PARALLEL_MIN_WORK)
    theta0, w_off, b_off, sizes_arr = flat_net(sizes, dtype)
    theta0 *= dtype(0.1)
    n = team.MIN_BATCHES * 10 + 5  # a call long enough for a team by default
    X, Y = samples(sizes, n, dtype)
    order = np.arange(n)
    results = []
    previous = numba.get_num_threads()
    try:
        for threads, use_team in [(1, None), (2, None), (2, False), (2, True)]:
            numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
            theta, metrics = theta0.copy(), np.zeros(3)
            bad = tiled.sgd_epoch(theta, w_off, b_off, sizes_arr, X, Y, order, 10, ETA, dtype(1), mlp.QUADRATIC,
                                  metrics=metrics, team=use_team)
            results.append((theta, metrics, bad))
    finally:
        numba.set_num_threads(previous)
    assert not np.array_equal(results[0][0], theta0)
    for theta, metrics, bad in results[1:]:
        assert np.array_equal(theta, results[0][0]) and np.array_equal(metrics, results[0][1]) and bad == 0


def test_members_that_do_not_meet_change_nothing_and_the_epoch_runs_without_them(monkeypatch):
    """The pool's one thread is busy with another task, so member 1 starts only after member 0 gave
    up waiting: both leave at once, and sgd_epoch trains the epoch without a team."""
    sizes = [40, 33, 3]
    theta0, w_off, b_off, sizes_arr = flat_net(sizes)
    X, Y = samples(sizes, 30)
    order = np.arange(30)
    made = []
    new_counters = sync.new_counters
    monkeypatch.setattr(sync, "new_counters", lambda: made.append(new_counters()) or made[-1])
    release = threading.Event()

    def release_once_member_0_gave_up():
        while not (made and made[0][sync.VERDICT * sync.LINE] == sync.ABANDONED):
            time.sleep(0.01)
        release.set()

    pool = team._helpers(1)
    blockers = [pool.submit(release.wait) for _ in range(team._POOL_SIZE)]  # every thread of the pool
    watcher = threading.Thread(target=release_once_member_0_gave_up, daemon=True)
    watcher.start()
    theta, metrics = theta0.copy(), np.zeros(3)
    bad = team.run_members(tiled._run, 2, theta, w_off, b_off, sizes_arr, X, Y, order, 5, ETA, 1.0,
                           mlp.QUADRATIC, theta[:0], metrics, np.empty((0, 3)), tiled.row_block(2), panels.NO_TILE)
    assert bad is None and release.is_set()
    assert [b.result(timeout=60) for b in blockers] == [True] * len(blockers)
    assert np.array_equal(theta, theta0) and not metrics.any()
    expected = one_thread(theta0, w_off, b_off, sizes_arr, X, Y, order, 5, mlp.QUADRATIC, theta0[:0], 2)[0]
    calls = []
    monkeypatch.setattr(team, "run_members", lambda *a: calls.append(1) or None)  # as if they never met
    previous = numba.get_num_threads()
    try:
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        theta = theta0.copy()
        tiled.sgd_epoch(theta, w_off, b_off, sizes_arr, X, Y, order, 5, ETA, 0.99, mlp.QUADRATIC, team=True,
                        block_rows=2)
    finally:
        numba.set_num_threads(previous)
    assert np.array_equal(theta, expected)
    assert calls == ([1] if numba.config.NUMBA_NUM_THREADS > 1 else [])


@numba.njit(nogil=True)
def _meet_and_count_rounds(counters, members, me, rounds, seen):
    """Meet, then per round: write the round into ``seen[me]``, wait at the barrier, check every
    member has written it (none is behind), wait again (none is ahead when the next is written).
    Returns -1 if the members did not meet, else the count of rounds where one was behind."""
    if not sync.meet(counters, members):
        return -1
    behind = 0
    for r in range(rounds):
        seen[me] = r
        sync.barrier(counters, members, 2 * r)
        for q in range(members):
            if seen[q] != r:
                behind += 1
        sync.barrier(counters, members, 2 * r + 1)
    return behind


@pytest.mark.parametrize("members, block_rows", [(2, 4), (3, 4), (3, 2)])
def test_copy_rows_gives_each_member_every_others_rows_of_one_set(members, block_rows):
    # 30 first-layer rows (blocks of 4 leave 2 over) and 10 deeper ones, 7 samples, buffer set 1
    n_rows, width, mb, m = 30, 40, 8, 7
    base = mb * width
    wrote = np.full((members, 2 * mb, width), np.nan)
    for q in range(members):
        lo, hi = tiled._rows_of_part(q, members, n_rows, block_rows)
        for s in range(m):
            wrote[q, mb + s, lo:hi] = 1000 * q + 100 * s + np.arange(lo, hi)
    whole = np.nansum(wrote[:, mb:mb + m, :n_rows], axis=0)  # each row written by one member
    for member in range(members):
        shared = wrote.reshape(members, -1).copy()
        tiled._copy_rows(shared, members, member, base, m, width, n_rows, block_rows)
        got = shared.reshape(wrote.shape)
        np.testing.assert_array_equal(got[member, mb:mb + m, :n_rows], whole)
        # nothing else changes: the other set, the samples past m, the deeper layer's columns,
        # and the other members' rows
        np.testing.assert_array_equal(got[member, :mb], wrote[member, :mb])
        np.testing.assert_array_equal(got[member, mb + m:], wrote[member, mb + m:])
        np.testing.assert_array_equal(got[member, mb:mb + m, n_rows:], wrote[member, mb:mb + m, n_rows:])
        np.testing.assert_array_equal(np.delete(got, member, axis=0), np.delete(wrote, member, axis=0))


@pytest.mark.parametrize("members", [1, 2, 3])
def test_the_barrier_lets_no_member_pass_before_all_arrived(members):
    counters = sync.new_counters()
    seen = np.full(members, -1, dtype=np.int64)
    results = [None] * members
    rounds = 500

    def member(p):
        results[p] = _meet_and_count_rounds(counters, members, p, rounds, seen)

    threads = [threading.Thread(target=member, args=(p,)) for p in range(members)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [0] * members
    assert counters[sync.PASSED * sync.LINE] == members * 2 * rounds
    assert counters[sync.VERDICT * sync.LINE] == sync.MET


def test_a_member_alone_gives_up_and_a_late_one_gets_the_same_verdict():
    counters = sync.new_counters()
    seen = np.zeros(2, dtype=np.int64)
    assert _meet_and_count_rounds(counters, 2, 0, 3, seen) == -1  # waits MEETING_SPINS, then leaves
    assert counters[sync.VERDICT * sync.LINE] == sync.ABANDONED
    assert _meet_and_count_rounds(counters, 2, 1, 3, seen) == -1  # the second arrives too late
    assert counters[sync.PASSED * sync.LINE] == 0 and not seen.any()


def test_suits_the_book_shapes_and_not_small_or_deep_work():
    work = tiled.PARALLEL_MIN_WORK
    assert team.suits([784, 30, 10], 10, 4, work) and team.suits([784, 100, 10], 10, 2, work)
    assert team.suits([64, 30, 10], 10, 4, work)  # the digits: 19,200 multiply-adds per mini-batch
    assert not team.suits([64, 30, 10], 8, 4, work)  # 15,360: below the work worth sharing
    assert not team.suits([784, 4, 10], 10, 4, work) and team.suits([784, 5, 10], 10, 4, work)  # one block
    assert not team.suits(np.array([784, 3, 10]), 10, 4, work) and not team.suits(np.array([784, 2, 10]), 10, 2, work)
    assert not team.suits([784, 100, 100, 10], 10, 4, work)  # a deeper layer worth sharing itself
    assert 32 * 64 * 8 == work and not team.suits([784, 32, 64, 10], 8, 4, work)  # exactly as much: too
    assert team.suits([784, 32, 63, 10], 8, 4, work)
    assert team.suits([784, 30], 10, 2, work)  # no hidden layer
    assert [team.members_for([784, 30, 10], t, 4) for t in (1, 2, 8, 9)] == [1, 2, 8, 8]


def _epoch_in_child(queue):
    theta0, w_off, b_off, sizes = flat_net([40, 33, 3])
    X, Y = samples([40, 33, 3], 30)
    queue.put((team._POOL is None, as_team(2, theta0, w_off, b_off, sizes, X, Y, np.arange(30), 5,
                                           mlp.QUADRATIC, theta0[:0], 2)[0]))


def test_a_forked_child_makes_its_own_pool():
    if "fork" not in multiprocessing.get_all_start_methods():
        pytest.skip("no fork on this platform")
    team._helpers(1)  # the parent has a pool, whose thread the child will not have
    theta0, w_off, b_off, sizes = flat_net([40, 33, 3])
    X, Y = samples([40, 33, 3], 30)
    expected = one_thread(theta0, w_off, b_off, sizes, X, Y, np.arange(30), 5, mlp.QUADRATIC, theta0[:0], 2)[0]
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_epoch_in_child, args=(queue,))
    child.start()
    forgot, theta = queue.get(timeout=120)
    child.join(timeout=60)
    assert forgot and np.array_equal(theta, expected)


def test_sgd_epoch_trains_as_a_team_exactly_when_it_should(monkeypatch):
    """By default: more than one thread, the register blocks, a shape that suits, a call of at
    least MIN_BATCHES mini-batches; team=True: whenever the blocks run on more than one thread."""
    sizes = [784, 30, 10]
    theta0, w_off, b_off, sizes_arr = flat_net(sizes)
    X, Y = samples(sizes, team.MIN_BATCHES * 10)
    calls = []
    real = team.run_members
    monkeypatch.setattr(team, "run_members", lambda *a: calls.append(a[1]) or real(*a))
    previous = numba.get_num_threads()
    threads = min(2, numba.config.NUMBA_NUM_THREADS)

    def members_used(n, mb, use_team=None, on=threads):
        calls.clear()
        numba.set_num_threads(on)
        tiled.sgd_epoch(theta0.copy(), w_off, b_off, sizes_arr, X, Y, np.arange(n), mb, 0.1, 1.0, mlp.QUADRATIC,
                        team=use_team)
        return calls[:]

    try:
        team_of = [threads] if threads > 1 else []
        assert members_used(team.MIN_BATCHES * 10, 10) == team_of
        assert members_used(team.MIN_BATCHES * 10 - 1, 10) == []  # one mini-batch short
        assert members_used(team.MIN_BATCHES * 10, 10, use_team=False) == []
        assert members_used(20, 10, use_team=True) == team_of
        assert members_used(team.MIN_BATCHES * 10, 10, on=1) == []
        assert members_used(2 * panels.MIN_BATCH, panels.MIN_BATCH, use_team=True) == []  # the panels: no team
    finally:
        numba.set_num_threads(previous)
