"""The colorizer's documented lightness tolerances, checked where they are documented:
``Colorizer.predict`` and ``lab_to_rgb`` keep the input's L* within 1e-5 up to L* = 99.9 and
within 5e-4 above (near white), not the looser bound everywhere."""
import warnings

import numpy as np
import pytest
from skimage.color import lab2rgb, rgb2lab

from fastnn.colorize import Colorizer

BELOW_WHITE, NEAR_WHITE, WHITE_FROM = 1e-5, 5e-4, 99.9


def _image(height, width, seed):
    """Float RGB of random lightness (with near-white and white pixels) and random colour."""
    rng = np.random.default_rng(seed)
    L = rng.uniform(0.0, 100.0, (height, width))
    L[0, :5] = 0.0, 99.9, 99.95, 99.999, 100.0
    ab = rng.uniform(-30.0, 30.0, (height, width, 2))
    ab[0, :5] = 0.0  # grays: white stays white
    with warnings.catch_warnings():  # a few random colours lie outside sRGB: clipped, as intended
        warnings.filterwarnings("ignore", "Conversion from CIE-LAB")
        return np.clip(lab2rgb(np.dstack([L, ab])), 0.0, 1.0)


@pytest.fixture(scope="module")
def fitted():
    train = [_image(24, 30, 0), _image(26, 22, 1)]
    return Colorizer(hidden_layer_sizes=(12,), epochs=2, samples_per_image=300, random_state=0).fit(train)


def _lightness_errors(image, out):
    L_in = rgb2lab(image if image.ndim == 3 else np.dstack([image] * 3))[..., 0]
    return L_in, np.abs(rgb2lab(out)[..., 0] - L_in)


@pytest.mark.parametrize("kind", ["rgb", "float gray", "uint8 gray"])
def test_predict_keeps_lightness_to_1e_5_below_white(fitted, kind):
    image = _image(23, 31, seed=5)
    if kind != "rgb":
        image = rgb2lab(image)[..., 0] / 100.0  # a gray value g is the sRGB gray (g, g, g)
        image = np.clip(image, 0.0, 1.0)
        if kind == "uint8 gray":
            image = np.rint(image * 255).astype(np.uint8)
    out = fitted.predict(image)
    as_float = image / 255.0 if image.dtype == np.uint8 else image
    L_in, error = _lightness_errors(as_float, out)
    below = L_in <= WHITE_FROM
    assert below.sum() > 600 and (~below).any()  # both bounds are exercised
    assert error[below].max() <= BELOW_WHITE
    assert error.max() <= NEAR_WHITE
