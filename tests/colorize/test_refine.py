"""The guided-filter refinement of predicted chroma (fastnn.colorize.refine) and its Colorizer parameters.

Tolerances: a constant chroma map comes back constant to 1e-9 (box means of a constant, in float64);
the L* of a refined prediction equals the input's as for an unrefined one (see test_colorize.py).
"""
import numpy as np
import pytest
from skimage.color import lab2rgb, rgb2lab

from fastnn.colorize import Colorizer
from fastnn.colorize.refine import guided_filter, refine_chroma

SMALL = {"hidden_layer_sizes": (8,), "epochs": 2, "samples_per_image": 300, "random_state": 0}


def textured_lightness(height, width, seed):
    rng = np.random.default_rng(seed)
    cols = np.arange(width)[None, :].repeat(height, axis=0)
    return np.where(cols < width // 2, 30.0 + 20.0 * ((cols // 2) % 2), 70.0) + rng.standard_normal((height, width))


def scene(height, width, seed):
    L = textured_lightness(height, width, seed)
    ab = np.where((np.arange(width) < width // 2)[None, :, None], (40.0, 20.0), (-10.0, -35.0))
    return lab2rgb(np.dstack([L, np.broadcast_to(ab, (height, width, 2))]))


def test_constant_chroma_is_left_unchanged():
    L = textured_lightness(40, 50, 0)
    chroma = np.broadcast_to(np.array([12.5, -30.0]), (40, 50, 2))
    for radius, eps in ((1, 1e-4), (4, 0.01), (30, 1.0)):
        np.testing.assert_allclose(refine_chroma(L, chroma, radius, eps), chroma, rtol=0, atol=1e-9)


def test_noise_is_smoothed_where_lightness_is_flat_and_edges_kept():
    L = np.zeros((40, 40))
    L[:, 20:] = 80.0
    truth = np.where((np.arange(40) < 20)[None, :, None], (30.0, 0.0), (-20.0, 10.0)) * np.ones((40, 40, 2))
    noisy = truth + np.random.default_rng(1).normal(0, 5, truth.shape)
    out = refine_chroma(L, noisy, 4, 0.01)
    assert np.abs(out - truth).mean() < 0.5 * np.abs(noisy - truth).mean()
    # the step in L* at column 20 stays a step in chroma: the columns next to it keep their sides' colours
    assert np.abs(out[:, 19] - truth[:, 19]).mean() < 3.0 and np.abs(out[:, 20] - truth[:, 20]).mean() < 3.0


def test_guided_filter_of_a_plane_equals_the_per_channel_filter():
    rng = np.random.default_rng(2)
    guide, image = rng.random((15, 17)), rng.random((15, 17, 2))
    both = guided_filter(guide, image, 2, 0.05)
    for k in range(2):
        np.testing.assert_array_equal(guided_filter(guide, image[..., k], 2, 0.05), both[..., k])


@pytest.mark.parametrize("radius, eps, error, message", [
    (0, 0.01, ValueError, "radius must be >= 1"),
    (2.5, 0.01, TypeError, "radius must be an integer"),
    (2, 0.0, ValueError, "eps must be"),
    (2, float("nan"), ValueError, "eps must be finite"),
])
def test_guided_filter_refuses_bad_parameters(radius, eps, error, message):
    with pytest.raises(error, match=message):
        guided_filter(np.zeros((8, 8)), np.zeros((8, 8, 2)), radius, eps)


def test_guided_filter_refuses_mismatched_shapes():
    with pytest.raises(ValueError, match="same h, w"):
        guided_filter(np.zeros((8, 8)), np.zeros((8, 9, 2)), 2, 0.1)


@pytest.mark.parametrize("params, error, message", [
    ({"refine": "bilateral"}, ValueError, "refine must be one of"),
    ({"refine_radius": 0}, ValueError, "refine_radius must be >= 1"),
    ({"refine_radius": 1.5}, TypeError, "refine_radius must be an integer"),
    ({"refine_eps": -1.0}, ValueError, "refine_eps must be"),
    ({"refine_eps": "0.1"}, TypeError, "refine_eps must be a real number"),
    ({"lmbda": -0.5}, ValueError, "lmbda must be"),
    ({"lmbda": None}, TypeError, "lmbda must be a real number"),
])
def test_colorizer_refuses_bad_refinement_and_lmbda(params, error, message):
    with pytest.raises(error, match=message):
        Colorizer(**dict(SMALL, **params)).fit([scene(20, 24, 0)])


@pytest.fixture(scope="module")
def pair():
    train = [scene(24, 32, 0), scene(30, 28, 1)]
    return Colorizer(**SMALL).fit(train), Colorizer(**dict(SMALL, refine=None)).fit(train)


def test_refined_prediction_keeps_lightness_exactly(pair):
    refined, _ = pair
    test = scene(21, 27, 3)
    L = rgb2lab(test)[..., 0]
    out = rgb2lab(refined.predict(test))
    assert np.abs(out[..., 0] - L).max() <= 1e-5


def test_refinement_is_the_filter_of_the_raw_prediction(pair):
    refined, raw = pair
    # same seed, same samples: the same network; only the refinement differs
    for w, w2 in zip(refined.network_.weights, raw.network_.weights):
        np.testing.assert_array_equal(w, w2)
    test = scene(21, 27, 3)
    L = rgb2lab(test)[..., 0]
    chroma = raw.chroma_maps(L, {"net": raw.predict_chroma})["net"]
    np.testing.assert_array_equal(raw.refine_chroma(L, chroma), chroma)
    expected = refine_chroma(L, chroma, refined.refine_radius, refined.refine_eps)
    np.testing.assert_array_equal(refined.refine_chroma(L, chroma), expected)
    assert not np.allclose(refined.predict(test), raw.predict(test))


def test_lmbda_reaches_the_network():
    train = [scene(24, 32, 0)]
    weak = Colorizer(**dict(SMALL, lmbda=0.0)).fit(train)
    strong = Colorizer(**dict(SMALL, lmbda=200.0)).fit(train)
    # L2 regularisation shrinks the weights (eq. 93's weight decay)
    assert np.linalg.norm(strong.network_.weights[0]) < np.linalg.norm(weak.network_.weights[0])


@pytest.mark.filterwarnings("ignore::fastnn.DivergenceWarning")
def test_early_stopping_keeps_the_best_epoch_of_the_held_out_error():
    train = [scene(24, 32, 0), scene(30, 28, 1)]
    params = dict(SMALL, epochs=12, eta=40.0, validation_fraction=0.25, n_iter_no_change=2)
    model = Colorizer(**params).fit(train)
    errors = model.validation_errors_
    assert 1 <= model.best_epoch_ <= len(errors) <= 12
    assert errors[model.best_epoch_ - 1] == min(errors)
    assert len(errors) == 12 or len(errors) - model.best_epoch_ == 2  # stopped by patience
    assert model.n_samples_ == 600 and model.network_.epochs_done_ == len(errors)
    # the kept network is the best epoch's: its error on the held-out rows is the recorded minimum
    fresh = Colorizer(**params)
    X, chroma = fresh.prepare(train)
    _, _, stopper = fresh._early_stopping(X, chroma, fresh.params_, fresh._network_seeds[0])
    held_out = np.mean(np.abs(model.predict_chroma(stopper.X) - stopper.chroma))
    assert held_out == pytest.approx(min(errors), rel=1e-12)
    assert model.best_epoch_ < len(errors)  # eta 40 diverges: later epochs were worse and dropped
    again = Colorizer(**params).fit(train)
    assert again.validation_errors_ == errors  # deterministic with random_state
    plain = Colorizer(**SMALL).fit(train)
    assert plain.best_epoch_ == SMALL["epochs"] and plain.validation_errors_ == []


@pytest.mark.parametrize("params, error, message", [
    ({"validation_fraction": 1.0}, ValueError, r"validation_fraction must be None or in \(0, 1\)"),
    ({"validation_fraction": 0.0}, ValueError, "validation_fraction must be"),
    ({"validation_fraction": 0.0001}, ValueError, "leaves no validation"),
    ({"n_iter_no_change": 0}, ValueError, "n_iter_no_change must be >= 1"),
])
def test_early_stopping_refuses_bad_parameters(params, error, message):
    with pytest.raises(error, match=message):
        Colorizer(**dict(SMALL, **params)).fit([scene(20, 24, 0)])


# -- the bins mode ---------------------------------------------------------------------------

def test_a_one_hot_distribution_decodes_to_its_bin_centre():
    from fastnn.colorize.bins import annealed_mean, bin_centres

    centres = bin_centres(10)
    for temperature in (0.1, 0.38, 1.0):
        decoded = annealed_mean(np.eye(len(centres)), centres, temperature)
        np.testing.assert_allclose(decoded, centres, rtol=0, atol=1e-9)


def test_annealed_mean_moves_from_the_mean_to_the_mode():
    from fastnn.colorize.bins import annealed_mean

    centres = np.array([[0.0, 0.0], [20.0, 0.0]])
    scores = np.array([[0.3, 0.7]])
    np.testing.assert_allclose(annealed_mean(scores, centres, 1.0), [[14.0, 0.0]])  # the plain mean
    assert annealed_mean(scores, centres, 0.05)[0, 0] > 19.9  # close to the likelier bin
    np.testing.assert_allclose(annealed_mean(2 * scores, centres, 1.0), [[14.0, 0.0]])  # normalised first


def test_bins_are_in_gamut_and_soft_targets_are_distributions():
    from fastnn.colorize.bins import bin_centres, soft_targets
    from fastnn.colorize.colour import in_gamut

    centres = bin_centres(10)
    assert len(centres) == len({tuple(c) for c in centres}) and np.abs(centres).max() <= 64
    probes = np.linspace(1, 99, 50)
    for c in centres[::7]:
        assert in_gamut(np.column_stack([probes, np.full(50, c[0]), np.full(50, c[1])])).any()
    assert not any((c == (-60.0, -60.0)).all() for c in centres)  # deep green-blue: no sRGB colour
    chroma = np.array([[0.0, 0.0], [12.0, -7.0], [200.0, 0.0]])
    targets = soft_targets(chroma, centres)
    np.testing.assert_allclose(targets.sum(axis=1), 1.0)
    assert (np.count_nonzero(targets, axis=1) == 5).all()
    assert np.argmax(targets[0]) == np.flatnonzero((centres == 0).all(axis=1))[0]  # the nearest bin weighs most
    with pytest.raises(ValueError, match="bin_size must be a positive integer"):
        bin_centres(0)


def test_bins_mode_fits_predicts_saves_and_loads(tmp_path):
    train = [scene(24, 32, 0), scene(30, 28, 1)]
    model = Colorizer(**dict(SMALL, mode="bins", bin_size=16, epochs=3)).fit(train)
    from fastnn.colorize.bins import bin_centres

    assert model.network_.sizes == [99, 8, len(bin_centres(16))]
    test = scene(21, 27, 3)
    rgb = model.predict(test)
    assert np.abs(rgb2lab(rgb)[..., 0] - rgb2lab(test)[..., 0]).max() <= 1e-5
    model.save(tmp_path / "bins.npz")
    again = Colorizer.load(tmp_path / "bins.npz")
    assert again.get_params() == model.get_params()
    np.testing.assert_array_equal(again.predict(test), rgb)
    with pytest.raises(ValueError, match="mode must be one of"):
        Colorizer(**dict(SMALL, mode="classes")).fit(train)
    with pytest.raises(ValueError, match="temperature must be"):
        Colorizer(**dict(SMALL, mode="bins", temperature=0.0)).fit(train)
