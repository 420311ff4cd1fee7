"""Class rebalancing of the bins mode (``Colorizer(mode="bins", rebalance=mix)``): the weights against
a plain loop over the bins, the redrawn rows, the colorizer, its file (format version 5) and the CLI."""
import numpy as np
import pytest
from skimage.color import lab2rgb

from fastnn import cli
from fastnn.colorize import Colorizer
from fastnn.colorize.bins import SOFT_SIGMA, bin_centres, rebalanced_rows, rebalancing_weights, soft_targets

TINY = {"mode": "bins", "bin_size": 16, "hidden_layer_sizes": (8,), "epochs": 5, "samples_per_image": 1600,
        "patch_size": 3, "refine": None}


def naive_smoothed_frequencies(targets, centres):
    """The bins' frequencies smoothed by a Gaussian of sigma SOFT_SIGMA over the centres, bin by bin."""
    n_bins = len(centres)
    frequency = [sum(row[k] for row in targets) / len(targets) for k in range(n_bins)]
    smoothed = []
    for j in range(n_bins):
        total = 0.0
        for k in range(n_bins):
            distance2 = (centres[j][0] - centres[k][0]) ** 2 + (centres[j][1] - centres[k][1]) ** 2
            total += np.exp(-distance2 / (2 * SOFT_SIGMA ** 2)) * frequency[k]
        smoothed.append(total)
    return [s / sum(smoothed) for s in smoothed]


def naive_weights(targets, centres, mix):
    """Zhang et al.'s weights written out bin by bin."""
    smoothed = naive_smoothed_frequencies(targets, centres)
    weights = [1 / ((1 - mix) * s + mix / len(centres)) for s in smoothed]
    mean_weight = sum(s * w for s, w in zip(smoothed, weights))
    return np.array([w / mean_weight for w in weights])


def grey_and_red(n_grey, n_red):
    """Chroma of ``n_grey`` nearly grey pixels and ``n_red`` red ones."""
    rng = np.random.default_rng(0)
    grey = rng.normal(0.0, 2.0, (n_grey, 2))
    red = rng.normal((45.0, 30.0), 2.0, (n_red, 2))
    return np.concatenate([grey, red])


@pytest.mark.parametrize("mix", [0.0, 0.25, 0.5, 1.0])
def test_the_weights_are_zhang_s_computed_bin_by_bin(mix):
    centres = bin_centres(16)
    targets = soft_targets(grey_and_red(300, 40), centres)
    weights = rebalancing_weights(targets, centres, mix)
    np.testing.assert_allclose(weights, naive_weights(targets.tolist(), centres.tolist(), mix), rtol=1e-12)


def test_rare_colours_weigh_more_and_the_mean_weight_is_1():
    centres = bin_centres(16)
    targets = soft_targets(grey_and_red(900, 100), centres)
    weights = rebalancing_weights(targets, centres, 0.5)
    grey_bin = np.argmax(targets[0])
    red_bin = np.argmax(targets[-1])
    assert weights[red_bin] > 1 > weights[grey_bin]
    np.testing.assert_allclose(rebalancing_weights(targets, centres, 1.0), 1.0, rtol=1e-12)  # uniform only
    smoothed = np.array(naive_smoothed_frequencies(targets.tolist(), centres.tolist()))
    for mix in (0.0, 0.5):
        assert smoothed @ rebalancing_weights(targets, centres, mix) == pytest.approx(1.0, rel=1e-12)


def test_rows_are_drawn_again_in_proportion_to_their_bin_s_weight():
    centres = bin_centres(16)
    targets = soft_targets(grey_and_red(9000, 1000), centres)
    weights = rebalancing_weights(targets, centres, 0.5)
    rows = rebalanced_rows(targets, weights, np.random.default_rng(1))
    assert rows.shape == (10000,) and rows.min() >= 0 and rows.max() < 10000
    row_weights = weights[np.argmax(targets, axis=1)]
    expected_red = row_weights[9000:].sum() / row_weights.sum()
    assert expected_red > 0.2  # 10% of the pixels, weighted up
    assert abs(np.mean(rows >= 9000) - expected_red) < 0.02  # 10,000 draws: a standard error of 0.005
    np.testing.assert_array_equal(rows, rebalanced_rows(targets, weights, np.random.default_rng(1)))


def two_colour_photo(seed, size=40):
    """A grey field with a red square (the rare colour) whose texture differs."""
    rng = np.random.default_rng(seed)
    L = 50 + rng.normal(0, 1, (size, size))
    ab = np.zeros((size, size, 2))
    L[:12, :12] += rng.choice([-15.0, 15.0], (12, 12))
    ab[:12, :12] = (45.0, 30.0)
    return (lab2rgb(np.dstack([L, ab])) * 255).round().astype(np.uint8)


def red_share_of_training_rows(monkeypatch, **params):
    """The share of the rows each network was trained on whose nearest bin is red (a* > 20)."""
    from fastnn.network import Network

    shares, fit = [], Network.fit

    def recording_fit(self, X, y, *args, **kwargs):
        centres = bin_centres(TINY["bin_size"])
        shares.append(float(np.mean(centres[np.argmax(y, axis=1), 0] > 20)))
        return fit(self, X, y, *args, **kwargs)

    monkeypatch.setattr(Network, "fit", recording_fit)
    model = Colorizer(**dict(TINY, **params), random_state=0).fit([two_colour_photo(0)])
    monkeypatch.undo()
    return model, shares


def test_each_network_trains_on_rows_drawn_with_the_rare_colour_weighted_up(monkeypatch):
    plain, plain_shares = red_share_of_training_rows(monkeypatch, n_networks=2)
    model, shares = red_share_of_training_rows(monkeypatch, n_networks=2, rebalance=0.5)
    assert plain_shares == [144 / 1600] * 2  # the red square: 12 x 12 of 40 x 40 pixels
    centres = bin_centres(TINY["bin_size"])
    targets = soft_targets(np.concatenate([np.full((144, 2), (45.0, 30.0)), np.zeros((1456, 2))]), centres)
    weights = rebalancing_weights(targets, centres, 0.5)
    expected = 144 * weights[np.argmax(targets[0])] / (weights[np.argmax(targets, axis=1)].sum())
    assert expected > 0.3
    for share in shares:
        assert abs(share - expected) < 0.06, (shares, expected)  # 1,600 draws, and the photo's noise
    assert shares[0] != shares[1]  # each network draws its own rows
    assert not np.array_equal(model.network_.weights[0], plain.network_.weights[0])


def test_a_rebalanced_colorizer_is_deterministic_and_keeps_rebalance_in_its_file(tmp_path):
    photo, test = two_colour_photo(0), two_colour_photo(1)
    model = Colorizer(**TINY, rebalance=0.5, random_state=0).fit([photo])
    again = Colorizer(**TINY, rebalance=0.5, random_state=0).fit([photo])
    np.testing.assert_array_equal(again.predict(test), model.predict(test))
    model.save(tmp_path / "m.npz")
    loaded = Colorizer.load(tmp_path / "m.npz")
    assert loaded.get_params()["rebalance"] == 0.5
    np.testing.assert_array_equal(loaded.predict(test), model.predict(test))


def test_cli_rebalance(tmp_path, capsys):
    from PIL import Image

    reference = tmp_path / "ref.png"
    Image.fromarray(two_colour_photo(0)).save(reference)
    model = tmp_path / "m.npz"
    args = ["colorize", "train", str(reference), "--out", str(model), "--epochs", "1", "--hidden", "4",
            "--samples-per-image", "300", "--mode", "bins", "--rebalance", "0.5", "--no-progress"]
    assert cli.main(args) == 0
    assert Colorizer.load(model).get_params()["rebalance"] == 0.5
    capsys.readouterr()
    bad = tmp_path / "bad.npz"
    assert cli.main(["colorize", "train", str(reference), "--out", str(bad), "--rebalance", "0.5",
                     "--no-progress"]) != 0
    assert "rebalance=0.5 needs mode='bins'" in capsys.readouterr().err
    assert not bad.exists()
