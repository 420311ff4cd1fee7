"""fastnn.network3 and its layers: behaviour that surviving mutants showed untested (issue 27).

Each test was first run against its mutant, applied by hand, and failed.
"""
import numpy as np
import pytest

from fastnn import DivergenceError, network3 as n3

from network3_helpers import mnist40, small_conv_net


def test_divergence_names_the_samples_done_and_restores_the_epoch(monkeypatch):
    """The parameters turn NaN in the first compiled chunk of the first epoch: the error says
    after how many of the epoch's samples, and the parameters are those before the epoch."""
    X, y = mnist40()
    X, y = np.tile(X, (5, 1)), np.tile(y, 5)  # 200 rows, 20 mini-batches of 10
    net = small_conv_net(n3.ReLU, seed=3)
    before = [p.copy() for p in net.params]
    real = n3._kernels.sgd_chunk
    chunks = []

    def poisoned(theta, spec, keep, X, y, rows, *args):
        real(theta, spec, keep, X, y, rows, *args)
        chunks.append(len(rows))
        theta[0] = np.nan

    monkeypatch.setattr(n3._kernels, "sgd_chunk", poisoned)
    with pytest.raises(DivergenceError, match=r"epoch 0: the parameters became NaN after (\d+) of its 200 "
                                              r"samples") as info:
        net.fit(X, y, 2, 10, 0.1)
    assert chunks and f"after {chunks[0]} of its 200 samples" in str(info.value)
    assert 0 < chunks[0] < 200 and chunks[0] % 10 == 0
    for p, q in zip(net.params, before):
        np.testing.assert_array_equal(p, q)
