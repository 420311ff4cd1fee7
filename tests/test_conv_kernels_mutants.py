"""Pointed, quick checks of the chapter-6 kernels (fastnn.kernels.conv), written for its mutation
run (tools/mutation.py runs them with NUMBA_DISABLE_JIT=1: every shape here is small).

Each kernel against a plain NumPy computation or the reference (fastnn.reference.network3_np):
the pooling's first-maximum rule on blocks full of ties, one filter's weight gradient and one
sample's input gradient with every count of routed deltas (the four-at-a-time loops and their
remainders of one to three), the whole-mini-batch path bit for bit against the per-sample one
for every split between threads, mini-batches larger than the training block, leftover rows,
the L2 decay of weights only, inference split between threads, and the running metrics.
Tolerances as tests/test_conv_kernels.py: gradients 1e-12 (relative to the largest), one
epoch 1e-10 on these small networks.
"""
import numpy as np
import pytest

from fastnn import network3 as n3
from fastnn.kernels import conv as K
from fastnn.reference import network3_np as ref

from network3_helpers import (ACTS, check_apply_step, reference_layers, reference_params, split_masks,
                             max_param_diff)

GRAD_TOL = 1e-12
EPOCH_TOL = 1e-10


def net_direct_then_gathered(act, p=0.0, seed=0, m=4):
    """1x11x12 images: CP(6 of 3x3, 2x2 pool: direct, 9 inputs per output; the last row is
    left out by the pool) -> CP(5 of 6x3x4, 2x1 pool: gathered, 72 inputs) -> FC(10 -> 7) ->
    softmax(7 -> 4)."""
    layers = [n3.ConvPoolLayer((6, 1, 3, 3), (m, 1, 11, 12), poolsize=(2, 2), activation_fn=act),
              n3.ConvPoolLayer((5, 6, 3, 4), (m, 6, 4, 5), poolsize=(2, 1), activation_fn=act),
              n3.FullyConnectedLayer(10, 7, activation_fn=act, p_dropout=p),
              n3.SoftmaxLayer(7, 4, p_dropout=p)]
    return _with_softmax_weights(n3.Network(layers, m, seed=seed), seed)


def net_gathered_then_direct(act, p=0.0, seed=0, m=4):
    """4x7x9 images: CP(7 of 4x4x4, 3x2 pool: gathered with exactly DIRECT_MAX_Q = 64 inputs;
    the last row and column are left out) -> CP(3 of 7x1x2, 1x2 pool: direct) -> softmax(3 -> 4)."""
    assert 4 * 4 * 4 == K.DIRECT_MAX_Q
    layers = [n3.ConvPoolLayer((7, 4, 4, 4), (m, 4, 7, 9), poolsize=(3, 2), activation_fn=act),
              n3.ConvPoolLayer((3, 7, 1, 2), (m, 7, 1, 3), poolsize=(1, 2), activation_fn=act),
              n3.SoftmaxLayer(3, 4, p_dropout=p)]
    return _with_softmax_weights(n3.Network(layers, m, seed=seed), seed)


NETS = [net_direct_then_gathered, net_gathered_then_direct]


def _with_softmax_weights(net, seed):
    rng = np.random.default_rng(seed + 50)
    net.layers[-1].w = rng.normal(0, 0.8, net.layers[-1].w.shape)
    net.layers[-1].b = rng.normal(0, 0.3, net.layers[-1].b.shape)
    for layer in net.layers[:-1]:  # larger weights: the activations reach both signs and saturate a little
        layer.w = layer.w * 3.0
    return net


def data(net, n, seed=1):
    rng = np.random.default_rng(seed)
    n_in = net.layers[0].n_in if hasattr(net.layers[0], "n_in") else int(np.prod(net.layers[0].image_shape[1:]))
    n_out = net.layers[-1].n_out
    return rng.random((n, n_in)) - 0.3, rng.integers(0, n_out, n)


def kernel_gradient(net, X, y, masks):
    nabla = np.zeros_like(net._theta)
    K.accumulate_gradient(net._theta, net._spec, net._keep, X, y, np.arange(X.shape[0]), masks, 0, nabla,
                          np.zeros(0))
    return nabla / X.shape[0]


def flat(grads):
    return np.concatenate([a.ravel() for pair in grads for a in pair])


@pytest.mark.parametrize("make", NETS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("act", ACTS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("p", [0.0, 0.5])
def test_per_sample_gradient_matches_the_reference(make, act, p):
    net = make(act, p)
    X, y = data(net, 6)
    masks = net._draw_masks(6)
    g = kernel_gradient(net, X, y, masks)
    expected = flat(ref.gradient(reference_layers(net), reference_params(net), X, y, split_masks(net, masks)))
    assert np.abs(g - expected).max() <= GRAD_TOL * np.abs(expected).max()
    # every layer's weights and biases receive gradient (none is left at zero by a broken path)
    start = 0
    for layer in net.layers:
        for size in (layer.w.size, layer.b.size):
            assert np.abs(expected[start:start + size]).max() > 1e-6
            start += size


@pytest.mark.parametrize("make", NETS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("act", [n3.tanh, n3.ReLU], ids=lambda f: f.__name__)
def test_an_epoch_of_mini_batches_larger_than_the_block_matches_the_reference(make, act):
    # 2 mini-batches of 12 (each a block of TRAIN_BLOCK = 10 samples, then one of 2), 11 leftover
    # rows (one short of a mini-batch) that no step reads, dropout and L2 decay (weights only)
    assert K.TRAIN_BLOCK == 10
    net = make(act, 0.5, m=12)
    X, y = data(net, 35)
    masks = net._draw_masks(35)
    eta, lmbda, m = 0.3, 0.4, 12
    layers, params = reference_layers(net), reference_params(net)
    K.sgd_chunk(net._theta, net._spec, net._keep, X, y, np.arange(35), masks, m, eta, eta * lmbda / 2, np.zeros(0),
                2)
    expected = ref.sgd_epoch(layers, params, X[:24], y[:24], m, eta, [None if k is None else k[:24] for k in
                                                                      split_masks(net, masks)], lmbda)
    assert max_param_diff(net, expected) <= EPOCH_TOL
    assert max_param_diff(net, params) > 1e-3  # the epoch moved the parameters


@pytest.mark.parametrize("make", NETS, ids=lambda f: f.__name__)
def test_whole_mini_batches_equal_the_per_sample_kernels_bit_for_bit_for_every_split(make):
    net = make(n3.sigmoid, 0.5, m=12)
    X, y = data(net, 24, seed=2)
    masks = net._draw_masks(24)
    plain = net._theta.copy()
    nabla = np.zeros_like(plain)
    plain_metrics = np.zeros(2)
    for start in (0, 12):
        K.accumulate_gradient(plain, net._spec, net._keep, X, y, np.arange(start, start + 12), masks, start, nabla,
                              plain_metrics)
        K.apply_step(plain, nabla, net._spec, 0.2 / 12, 0.01)
    assert np.all(nabla == 0)
    for threads in (1, 2, 3, 4, 7):  # more parts than filters for some layers
        fast = net._theta.copy()
        metrics = np.zeros(2)
        K.sgd_chunk(fast, net._spec, net._keep, X, y, np.arange(24), masks, 12, 0.2, 0.01, metrics, threads)
        np.testing.assert_array_equal(fast, plain, err_msg=f"{threads} threads")
        np.testing.assert_array_equal(metrics, plain_metrics, err_msg=f"{threads} threads")


def test_apply_step_decays_the_weights_only_and_clears_the_gradient():
    check_apply_step(net_direct_then_gathered(n3.tanh), seed=5)


@pytest.mark.parametrize("make", NETS, ids=lambda f: f.__name__)
def test_inference_matches_the_reference_and_the_per_sample_pass_for_every_split(make):
    # 23 rows: blocks of INFER_BLOCK = 10 and uneven ranges between threads
    net = make(n3.ReLU, 0.4)
    X, _ = data(net, 23, seed=3)
    expected = ref.feedforward(reference_layers(net), reference_params(net), X)
    act, args, cols, dcols, zc, xd, z, delta, dprev = K._scratch(net._theta, net._spec)
    out0 = net._spec[-1, K.OUT_OFF]
    single = np.empty_like(expected)
    for i in range(23):  # the inference path: no masks (these, all 0, would drop every input), x w scaled by keep
        K.forward_sample(net._theta, net._spec, net._keep, X[i], act, args, np.zeros((1, 99), np.uint8), 0, False,
                         cols, zc, xd, z)
        single[i] = act[out0:out0 + 4]
    np.testing.assert_allclose(single, expected, rtol=0, atol=1e-14)
    for threads in (1, 2, 3, 5):
        out = np.full_like(expected, -1.0)
        K.predict_proba(net._theta, net._spec, net._keep, X, out, threads)
        np.testing.assert_array_equal(out, single, err_msg=f"{threads} threads")


def test_softmax_output_is_shifted_by_the_largest_logit_wherever_it_is():
    # logits of 800 or more overflow exp unless shifted by their maximum; the maximum sits in
    # the last, a middle and the first position of the three classes
    layers = [n3.FullyConnectedLayer(3, 3, n3.linear), n3.SoftmaxLayer(3, 3)]
    net = n3.Network(layers, 1, seed=0)
    for layer in net.layers:
        layer.w, layer.b = np.eye(3), np.zeros(3)
    X = np.array([[800.0, 801.0, 803.0], [801.0, 803.0, 800.0], [803.0, 800.0, 801.0]])
    expected = ref.softmax(X)
    out = np.empty((3, 3))
    K.predict_proba(net._theta, net._spec, net._keep, X, out, 1)
    np.testing.assert_allclose(out, expected, rtol=1e-14)
    metrics = np.zeros(2)
    nabla = np.zeros_like(net._theta)
    K.accumulate_gradient(net._theta, net._spec, net._keep, X, np.array([2, 1, 0]), np.arange(3),
                          np.zeros((3, 0), np.uint8), 0, nabla, metrics)
    assert metrics[0] == pytest.approx(-3 * np.log(expected[0, 2]), rel=1e-12)
    assert metrics[1] == 3


def _pool_layer(poolsize, image, filt=(3, 1, 2, 2)):
    layer = n3.ConvPoolLayer(filt, (1,) + image, poolsize=poolsize, activation_fn=n3.linear)
    return n3.Network([layer, n3.SoftmaxLayer(layer.n_out, 2)], 1, seed=0)


@pytest.mark.parametrize("poolsize", [(2, 2), (3, 2), (2, 3), (1, 2)])
@pytest.mark.parametrize("extra", [0, 3], ids=["stride OW", "stride OW+3"])
def test_pooling_takes_the_first_maximum_of_blocks_full_of_ties(poolsize, extra):
    # integer outputs in {0, 1, 2}: most blocks hold ties; the columns past OW (a direct
    # layer's stride is the input width) hold larger values that no block may read
    net = _pool_layer(poolsize, (1, 8, 9))
    spec_l = net._spec[0]
    oh, ow, phn, pwn = (int(spec_l[k]) for k in (K.OH, K.OW, K.PHN, K.PWN))
    ph, pw = poolsize
    stride = ow + extra
    rng = np.random.default_rng(sum(poolsize) + extra)
    act_len, arg_len = K.buffer_sizes(net._spec)[:2]
    bias = np.array([0.5, -1.5, 2.0])
    net.layers[0].b = bias
    for f in range(3):
        z = rng.integers(0, 3, (oh, ow)).astype(float)
        zf = np.full(oh * stride, 9.0)
        for i in range(oh):
            zf[i * stride:i * stride + ow] = z[i]
        act = np.full(act_len, np.nan)
        args = np.full(max(arg_len, 1), -1, dtype=np.int64)
        K.pool_filter(net._theta, spec_l, f, zf, stride, act, args)
        blocks = z[:phn * ph, :pwn * pw].reshape(phn, ph, pwn, pw).transpose(0, 2, 1, 3).reshape(phn, pwn, ph * pw)
        first = np.argmax(blocks, axis=2)  # NumPy's argmax: the first maximum
        rows = np.arange(phn)[:, None] * ph + first // pw
        cols = np.arange(pwn)[None, :] * pw + first % pw
        o = slice(f * phn * pwn, (f + 1) * phn * pwn)
        np.testing.assert_array_equal(args[spec_l[K.ARG_OFF]:][o], (rows * ow + cols).ravel())
        np.testing.assert_array_equal(act[spec_l[K.OUT_OFF]:][o], (blocks.max(axis=2) + bias[f]).ravel())
        assert np.isnan(act[spec_l[K.OUT_OFF]:][:o.start]).all() and np.isnan(act[spec_l[K.OUT_OFF]:][o.stop:]).all()


def _routed_layer(nf, image=(2, 6, 7), filt=(2, 3, 2), poolsize=(2, 2)):
    layer = n3.ConvPoolLayer((nf,) + filt, (1,) + image, poolsize=poolsize, activation_fn=n3.linear)
    net = n3.Network([layer, n3.SoftmaxLayer(layer.n_out, 2)], 1, seed=3)
    return net, net._spec[0]


def _routing(spec_l, nf, rng, nonzero):
    """deltas (F*PHN*PWN) with ``nonzero[f]`` nonzero values per filter, and argmax records inside
    each element's block."""
    ow, phn, pwn, ph, pw = (int(spec_l[k]) for k in (K.OW, K.PHN, K.PWN, K.PH, K.PW))
    delta = np.zeros(nf * phn * pwn)
    args = np.empty(nf * phn * pwn, dtype=np.int64)
    for f in range(nf):
        chosen = rng.choice(phn * pwn, size=nonzero[f], replace=False)
        delta[f * phn * pwn + chosen] = rng.normal(size=nonzero[f])
        for o in range(phn * pwn):
            pi, pj = divmod(o, pwn)
            args[f * phn * pwn + o] = (pi * ph + rng.integers(ph)) * ow + pj * pw + rng.integers(pw)
    return delta, args


@pytest.mark.parametrize("count", range(10))
def test_filter_gradient_with_every_count_of_nonzero_deltas(count):
    # 12 pooled elements per filter, `count` of them with a nonzero delta (the others skipped):
    # dw[f, :] += sum of delta * cols[p*, :], db[f] += sum of delta, nothing else written
    nf = 3
    net, spec_l = _routed_layer(nf, image=(2, 8, 9))
    phn, pwn, oh, ow = (int(spec_l[k]) for k in (K.PHN, K.PWN, K.OH, K.OW))
    assert phn * pwn == 12
    rng = np.random.default_rng(count)
    delta, args = _routing(spec_l, nf, rng, [count] * nf)
    q_len = 2 * 3 * 2
    c0 = int(spec_l[K.COLS_OFF])
    cols = np.concatenate([np.full(c0, np.nan), rng.normal(size=oh * ow * q_len)])
    w0, b0 = int(spec_l[K.W_OFF]), int(spec_l[K.B_OFF])
    for f in range(nf):
        start = rng.normal(size=net._theta.shape)
        nabla = start.copy()
        K.filter_gradient(net._theta, spec_l, f, args, delta, cols, nabla)
        d = delta[f * phn * pwn:(f + 1) * phn * pwn]
        p = args[f * phn * pwn:(f + 1) * phn * pwn]
        rows = cols[c0:].reshape(oh * ow, q_len)[p]
        expected = start.copy()
        expected[w0 + f * q_len:w0 + (f + 1) * q_len] += d @ rows
        expected[b0 + f] += d.sum()
        np.testing.assert_allclose(nabla, expected, rtol=1e-13, atol=1e-13)
        changed = np.flatnonzero(nabla != start)
        allowed = set(range(w0 + f * q_len, w0 + (f + 1) * q_len)) | {b0 + f}
        assert set(changed) <= allowed
        assert (len(changed) > 0) == (count > 0)


@pytest.mark.parametrize("counts", [[0] * 9, [1] * 9, [2, 5, 0, 1, 4, 3, 6, 2, 1], [4] * 9, [6] * 9,
                                    [3, 3, 3, 3, 3, 3, 3, 3, 3], [5, 6, 5, 6, 5, 6, 5, 6, 5]])
@pytest.mark.parametrize("shape", [((2, 6, 7), (2, 3, 2)), ((1, 5, 7), (1, 1, 2))], ids=["q12", "q2"])
def test_input_gradient_with_every_count_of_filters_routed_to_a_position(counts, shape):
    # 9 filters over 3x2 pooled elements of 2x2 blocks: a position receives gradient from 0 to 9
    # filters (taken four at a time, then one to three); filters of 12 and of 2 weights (fewer
    # than the filters)
    nf = 9
    net, spec_l = _routed_layer(nf, image=shape[0], filt=shape[1])
    nc, nh, nw, fh, fw, ow = (int(spec_l[k]) for k in (K.C, K.H, K.W, K.FH, K.FW, K.OW))
    rng = np.random.default_rng(sum(counts))
    delta, args = _routing(spec_l, nf, rng, counts)
    # several filters routed to one position: the same block position for all of them
    phn, pwn = int(spec_l[K.PHN]), int(spec_l[K.PWN])
    args = np.tile(args[:phn * pwn], nf)
    w = net.layers[0].w
    dcols = np.full(K.buffer_sizes(net._spec)[3], np.nan)
    K.permute_filters(net._theta, spec_l, dcols)
    dprev = np.full(nc * nh * nw + 2, 7.0)
    full_args = np.concatenate([np.full(spec_l[K.ARG_OFF], -1), args])
    K.input_gradient(net._theta, spec_l, full_args, delta, dcols, dprev)
    expected = np.zeros((nc, nh, nw))
    for f in range(nf):
        for o in range(phn * pwn):
            d = delta[f * phn * pwn + o]
            i, j = divmod(args[f * phn * pwn + o], ow)
            expected[:, i:i + fh, j:j + fw] += d * w[f, :, ::-1, ::-1]
    np.testing.assert_allclose(dprev[:nc * nh * nw], expected.ravel(), rtol=1e-13, atol=1e-13)
    assert np.all(dprev[nc * nh * nw:] == 7.0)
    assert (np.abs(expected).max() > 0) == (sum(counts) > 0)


def test_metrics_count_cost_and_first_most_probable_class_and_only_with_two_entries():
    # a softmax of equal weights gives tied outputs: the first class is the prediction
    layers = [n3.FullyConnectedLayer(2, 3, n3.linear), n3.SoftmaxLayer(3, 3)]
    net = n3.Network(layers, 1, seed=0)
    net.layers[1].w = np.zeros((3, 3))
    net.layers[1].b = np.zeros(3)
    X = np.array([[0.2, 0.4], [0.1, 0.3]])
    for label, correct in ((0, 1), (1, 0), (2, 0)):
        metrics = np.array([0.5, 2.0])
        nabla = np.zeros_like(net._theta)
        K.accumulate_gradient(net._theta, net._spec, net._keep, X, np.array([label, label]), np.arange(2),
                              np.zeros((2, 0), np.uint8), 0, nabla, metrics)
        assert metrics[0] == pytest.approx(0.5 + 2 * np.log(3), rel=1e-14)
        assert metrics[1] == 2.0 + 2 * correct
    net.layers[1].b = np.array([0.0, 0.0, 5.0])  # class 2 the most probable: correct for label 2 only
    for label, correct in ((0, 0), (1, 0), (2, 1)):
        metrics = np.zeros(2)
        K.accumulate_gradient(net._theta, net._spec, net._keep, X[:1], np.array([label]), np.arange(1),
                              np.zeros((1, 0), np.uint8), 0, np.zeros_like(net._theta), metrics)
        assert metrics[1] == correct
    for shape in (0, 1, 3):  # any other length: nothing recorded
        metrics = np.full(shape, 4.0)
        K.record_metrics(net._spec, np.full(99, 0.25), 0, metrics)
        assert np.all(metrics == 4.0)
