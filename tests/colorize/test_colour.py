"""fastnn.colorize.colour: the network's targets, the sRGB gamut test and the gamut mapping of
``lab_to_rgb``, each function on its own (the focused tests of colour.py's mutation run, issue 27)."""
import numpy as np
import pytest
from skimage.color import lab2rgb, rgb2lab

from fastnn.colorize.colour import CHROMA_RANGE, GAMUT_STEPS, from_outputs, in_gamut, lab_to_rgb, to_targets


def test_targets_are_half_plus_chroma_over_128_clipped_and_outputs_invert_them():
    ab = np.array([[-100.0, -64.0], [-32.0, 0.0], [16.0, 64.0], [64.5, 300.0]])
    assert CHROMA_RANGE == 64.0
    np.testing.assert_array_equal(to_targets(ab), [[0.0, 0.0], [0.25, 0.5], [0.625, 1.0], [1.0, 1.0]])
    inside = ab[np.abs(ab) <= 64]
    np.testing.assert_array_equal(from_outputs(to_targets(inside)), inside)  # exact: powers of two
    np.testing.assert_array_equal(from_outputs([0.0, 0.5, 1.0]), [-64.0, 0.0, 64.0])
    assert from_outputs(np.float32(0.75)).dtype == np.float64


def test_grays_and_the_srgb_primaries_are_in_gamut_and_a_little_more_chroma_is_not():
    grays = np.column_stack([np.linspace(0.0, 90.0, 10), np.zeros(10), np.zeros(10)])
    assert in_gamut(grays).all()  # (white, L* = 100, lies just outside)
    primaries = rgb2lab(np.eye(3)[None])[0]  # red, green, blue: on the gamut's edge
    assert in_gamut(primaries).all()
    more = primaries.copy()
    more[:, 1:] *= 1.001
    assert not in_gamut(more).any()
    # in gamut in linear RGB but with a negative Z (lab2xyz's b* limit): refused
    assert not in_gamut(np.array([[10.0, 0.0, 100.0]])).any()
    # the shape of the input's leading axes is kept
    assert in_gamut(np.zeros((2, 3, 3))).shape == (2, 3)


@pytest.mark.parametrize("L, ab", [(50.0, (100.0, 60.0)), (20.0, (-80.0, 30.0)), (90.0, (10.0, -120.0))])
def test_out_of_gamut_chroma_is_scaled_down_no_more_than_needed(L, ab):
    """The bisection finds the largest common factor (to 2**-GAMUT_STEPS) that is in gamut."""
    lab = np.array([[L, *ab]])
    assert not in_gamut(lab).any()
    out = rgb2lab(lab_to_rgb(np.full((1, 1), L), np.array(ab).reshape(1, 1, 2)))[0, 0]
    assert out[0] == pytest.approx(L, abs=1e-5)
    factor = np.hypot(out[1], out[2]) / np.hypot(*ab)
    assert 0.05 < factor < 1.0
    np.testing.assert_allclose(out[1:], factor * np.array(ab), atol=1e-4)  # the hue is kept
    step = 2.0 ** -GAMUT_STEPS
    assert in_gamut(np.array([[L, *(np.array(ab) * (factor - 4 * step))]])).all()
    assert not in_gamut(np.array([[L, *(np.array(ab) * (factor + 4 * step))]])).any()


def test_lab_to_rgb_clips_lightness_to_0_100_and_leaves_in_gamut_colours_alone():
    L = np.array([[-5.0, 0.0, 55.0, 100.0, 120.0]])
    ab = np.zeros((1, 5, 2))
    ab[0, 2] = 10.0, -10.0
    rgb = lab_to_rgb(L, ab)
    assert rgb.shape == (1, 5, 3) and rgb.dtype == np.float64
    np.testing.assert_allclose(rgb, lab2rgb(np.dstack([np.clip(L, 0, 100), ab])), atol=1e-12)
    np.testing.assert_array_equal(rgb[0, 0], [0.0, 0.0, 0.0])
    np.testing.assert_allclose(rgb[0, 4], [1.0, 1.0, 1.0], atol=1e-5)
