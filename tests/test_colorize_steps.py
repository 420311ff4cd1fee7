"""Colorizer.prepare + fit_samples (the two public halves of fit) and chroma_maps, on tiny generated images."""
import numpy as np
import pytest
from skimage.color import lab2rgb

from fastnn.colorize import Colorizer, fit_baselines

SMALL = {"patch_size": 3, "hidden_layer_sizes": (6,), "epochs": 2, "samples_per_image": 150, "random_state": 0}


def _image(seed, height=12, width=14):
    rng = np.random.default_rng(seed)
    L = 40 + 30 * rng.random((height, width))
    ab = np.stack([20 * np.sign(L - 55), np.full((height, width), -15.0)], axis=-1)
    return lab2rgb(np.dstack([L, ab]))


IMAGES = [_image(0), _image(1)]


def test_fit_is_prepare_then_fit_samples():
    whole = Colorizer(**SMALL).fit(IMAGES)
    steps = Colorizer(**SMALL)
    X, chroma = steps.prepare(IMAGES)
    assert X.shape == (300, steps.n_features_in_) and X.dtype == np.float32 and chroma.shape == (300, 2)
    assert steps.fit_samples(X, chroma) is steps
    for a, b in zip(whole.network_.weights + whole.network_.biases, steps.network_.weights + steps.network_.biases):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(whole.predict(IMAGES[0]), steps.predict(IMAGES[0]))
    assert steps.params_ == whole.params_ and steps.params_["hidden_layer_sizes"] == (6,)


def test_fit_samples_needs_prepare_and_its_features():
    with pytest.raises(ValueError, match="call prepare"):
        Colorizer(**SMALL).fit_samples(np.zeros((3, 59)), np.zeros((3, 2)))
    model = Colorizer(**SMALL)
    X, chroma = model.prepare(IMAGES)
    with pytest.raises(ValueError, match=r"X must have shape \(n_samples, 59\)"):
        model.fit_samples(X[:, :5], chroma)


def test_prepare_forgets_the_previous_network():
    model = Colorizer(**SMALL).fit(IMAGES)
    model.prepare(IMAGES[:1])
    with pytest.raises(ValueError, match="not fitted"):
        model.predict(IMAGES[0])


def test_params_are_those_of_the_fit():
    model = Colorizer(**SMALL).fit(IMAGES)
    before = model.predict(IMAGES[0])
    model.set_params(patch_size=5)        # takes effect at the next fit, not on the fitted network
    assert model.params_["patch_size"] == 3
    np.testing.assert_array_equal(model.predict(IMAGES[0]), before)


def test_chroma_maps_of_several_predictors():
    model = Colorizer(**SMALL)
    X, chroma = model.prepare(IMAGES)
    model.fit_samples(X, chroma)
    predictors, _ = fit_baselines(model, X, chroma, mlp=False)
    L = np.linspace(20, 80, 12 * 14).reshape(12, 14)
    maps = model.chroma_maps(L, {"fastnn": model.predict_chroma, **predictors})
    assert set(maps) == {"fastnn", "LinearRegression"}
    assert all(m.shape == (12, 14, 2) and np.isfinite(m).all() for m in maps.values())
    with pytest.raises(ValueError, match="not fitted"):
        Colorizer(**SMALL).chroma_maps(L, {})
