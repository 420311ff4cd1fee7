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


def test_files_are_format_version_1_and_other_versions_are_refused(tmp_path):
    """docs/guide/guarantees.md: format_version is currently 1; a file of another version is refused."""
    net = n3.Network([n3.SoftmaxLayer(4, 2)], 2, seed=0)
    path = tmp_path / "net.npz"
    net.save(path)
    with np.load(path) as f:
        arrays = dict(f)
    assert str(arrays["format"]) == "fastnn.network3.Network" and int(arrays["format_version"]) == 1
    for version in (0, 2):
        arrays["format_version"] = np.array(version, dtype=np.int64)
        other = tmp_path / f"v{version}.npz"
        np.savez(other, **arrays)
        with pytest.raises(n3.ModelFileError, match=r"unsupported format_version \(this fastnn reads 1\)"):
            n3.Network.load(other)
