"""Small, fast checks of the colorizer's modules, one rule at a time (written against mutation-testing
survivors: docs/guide/testing.md, "Mutation testing").

Tolerances: the guided filter and the features are compared with direct loop computations in float64
to 1e-12 (the same sums in another order).
"""
import re

import numpy as np
import pytest

from fastnn.colorize import features, refine


def box_mean_mirrored(plane, radius):
    """The mean of the (2 radius + 1)-square window around each pixel, borders mirrored (a b | b a)."""
    padded = np.pad(plane, radius, mode="symmetric")
    height, width = plane.shape
    out = np.empty((height, width))
    for i in range(height):
        for j in range(width):
            out[i, j] = padded[i:i + 2 * radius + 1, j:j + 2 * radius + 1].mean()
    return out


def guided_filter_by_loops(guide, image, radius, eps):
    """He et al.'s guided filter written out: per window the ridge line of image on guide, then averaged."""
    mean_guide = box_mean_mirrored(guide, radius)
    var_guide = box_mean_mirrored(guide * guide, radius) - mean_guide ** 2
    mean_image = box_mean_mirrored(image, radius)
    covariance = box_mean_mirrored(guide * image, radius) - mean_guide * mean_image
    slope = covariance / (var_guide + eps)
    offset = mean_image - slope * mean_guide
    return box_mean_mirrored(slope, radius) * guide + box_mean_mirrored(offset, radius)


# -- refine.py -------------------------------------------------------------------------------

@pytest.mark.parametrize("radius, eps", [(1, 0.05), (2, 0.01), (3, 2.0)])
def test_guided_filter_equals_the_filter_written_out(radius, eps):
    rng = np.random.default_rng(3)
    guide, image = rng.random((9, 11)), rng.normal(0, 10, (9, 11, 3))
    out = refine.guided_filter(guide, image, radius, eps)
    assert out.shape == image.shape and out.dtype == np.float64
    for k in range(3):
        np.testing.assert_allclose(out[..., k], guided_filter_by_loops(guide, image[..., k], radius, eps),
                                   rtol=0, atol=1e-12)
    plane = refine.guided_filter(guide, image[..., 1], radius, eps)
    assert plane.shape == (9, 11)
    np.testing.assert_array_equal(plane, out[..., 1])


def test_refine_chroma_guides_by_lightness_over_100():
    rng = np.random.default_rng(4)
    L, chroma = rng.uniform(0, 100, (8, 10)), rng.normal(0, 20, (8, 10, 2))
    out = refine.refine_chroma(L, chroma, 2, 0.01)
    for k in range(2):
        np.testing.assert_allclose(out[..., k], guided_filter_by_loops(L / 100, chroma[..., k], 2, 0.01),
                                   rtol=0, atol=1e-12)


@pytest.mark.parametrize("guide_shape, image_shape", [
    ((6, 7), (6, 8)), ((6, 7), (7, 7)), ((6, 7), (6, 7, 2, 1)), ((6,), (6,)), ((6, 7, 1), (6, 7, 1)),
])
def test_guided_filter_names_both_shapes_when_they_do_not_fit(guide_shape, image_shape):
    with pytest.raises(ValueError, match=r"guide must be \(h, w\) and image .*" + re.escape(
            f"got {guide_shape} and {image_shape}")):
        refine.guided_filter(np.zeros(guide_shape), np.zeros(image_shape), 1, 0.1)


def test_check_refine_returns_the_checked_values():
    assert refine.check_refine(None, 3, 0.5) == (None, 3, 0.5)
    assert refine.check_refine("guided", 1, 1e-6) == ("guided", 1, 1e-6)
    with pytest.raises(ValueError, match="refine must be one of"):
        refine.check_refine("bilateral", 3, 0.5)
    with pytest.raises(ValueError, match="refine_radius must be >= 1"):
        refine.check_refine(None, 0, 0.5)
    with pytest.raises(ValueError, match="refine_eps must be"):
        refine.check_refine("guided", 2, 0.0)


# -- features.py -----------------------------------------------------------------------------

def mirrored(index, size):
    """The index of a symmetric (a b | b a) padding, for one reflection at either border."""
    return -index - 1 if index < 0 else 2 * size - index - 1 if index >= size else index


def window_by_loops(plane, i, j, grid, step):
    height, width = plane.shape
    offsets = [(u - grid // 2) * step for u in range(grid)]
    return np.array([[plane[mirrored(i + du, height), mirrored(j + dv, width)] for dv in offsets]
                     for du in offsets])


def test_feature_count_adds_the_patch_the_two_coarse_grids_and_one_per_texture_scale():
    assert features.feature_count(5) == 25 + 2 * 25
    assert features.feature_count(3, (2, 3)) == 9 + 2 * 25 + 2
    assert features.CONTEXT == ((4, 5, 2.0), (16, 5, 8.0))


@pytest.mark.parametrize("size", [2, 3, 5])
def test_local_std_is_the_population_std_of_each_mirrored_window(size):
    plane = np.random.default_rng(5).random((8, 9))
    out = features.local_std(plane, size)
    # scipy's window of an even side holds one more pixel before the centre than after it
    before, after = size // 2, (size - 1) // 2
    padded = np.pad(plane, size, mode="symmetric")
    for i in range(8):
        for j in range(9):
            window = padded[size + i - before:size + i + after + 1, size + j - before:size + j + after + 1]
            assert out[i, j] == pytest.approx(window.std(), abs=1e-7)
    # a flat plane whose variance rounds below 0 (E[x^2] - E[x]^2 for x = 0.4): 0, not NaN
    flat = features.local_std(np.full((5, 5), 0.4), 3)
    assert (flat == 0.0).all()


def test_feature_planes_are_mirrored_windows_of_lightness_over_100_and_its_blurs():
    from scipy.ndimage import gaussian_filter

    L = np.random.default_rng(6).uniform(0, 100, (36, 40))
    views = features.feature_planes(L, 3, (3,))
    assert [v.shape for v in views] == [(36, 40, 3, 3), (36, 40, 5, 5), (36, 40, 5, 5), (36, 40, 1, 1)]
    planes = [L / 100, *(gaussian_filter(L / 100, sigma, mode="reflect") for _, _, sigma in features.CONTEXT)]
    grids = [(3, 1), *((grid, step) for step, grid, _ in features.CONTEXT)]
    for i, j in ((0, 0), (35, 39), (17, 3), (2, 30)):
        for view, plane, (grid, step) in zip(views, planes, grids):
            np.testing.assert_allclose(view[i, j], window_by_loops(plane, i, j, grid, step), rtol=0, atol=1e-12)
        assert views[3][i, j, 0, 0] == pytest.approx(features.local_std(L / 100, 3)[i, j])


def test_row_batches_cover_the_rows_in_order_with_about_predict_batch_pixels(monkeypatch):
    monkeypatch.setattr(features, "PREDICT_BATCH", 20)
    assert features.row_batches(9, 7) == [slice(0, 2), slice(2, 4), slice(4, 6), slice(6, 8), slice(8, 9)]
    assert features.row_batches(3, 25) == [slice(0, 1), slice(1, 2), slice(2, 3)]  # wider than a batch
    assert features.row_batches(4, 5) == [slice(0, 4)]  # exactly one batch


def test_gather_concatenates_each_scale_s_window_in_order():
    L = np.random.default_rng(7).uniform(0, 100, (6, 5))
    views = features.feature_planes(L, 3, (2,))
    rows, cols = np.array([0, 5, 2]), np.array([4, 0, 2])
    out = features.gather(views, (rows, cols), np.float32)
    assert out.shape == (3, 9 + 25 + 25 + 1) and out.dtype == np.float32
    for r, (i, j) in enumerate(zip(rows, cols)):
        np.testing.assert_array_equal(out[r], np.concatenate([v[i, j].ravel() for v in views]).astype(np.float32))
    rows_slice = features.gather(views, slice(1, 3), np.float64)
    assert rows_slice.shape == (2 * 5, 60)
    np.testing.assert_array_equal(rows_slice[5 + 3], np.concatenate([v[2, 3].ravel() for v in views]))


# -- bins.py ---------------------------------------------------------------------------------

@pytest.mark.parametrize("bin_size, half", [(10, 60), (16, 64), (7, 63), (64, 64)])
def test_bin_centres_are_the_in_gamut_multiples_of_the_bin_size_within_64(bin_size, half):
    from fastnn.colorize.bins import bin_centres
    from fastnn.colorize.colour import in_gamut

    grid = np.arange(-half, half + 1, bin_size, dtype=np.float64)
    expected = [(a, b) for a in grid for b in grid
                if in_gamut(np.column_stack([np.linspace(1, 99, 50), np.full(50, a), np.full(50, b)])).any()]
    centres = bin_centres(bin_size)
    assert [tuple(c) for c in centres] == expected
    assert not centres.flags.writeable


@pytest.mark.parametrize("value", [0, -3, 2.0, True, "10", None])
def test_bin_centres_refuse_anything_but_a_positive_integer(value):
    from fastnn.colorize.bins import bin_centres

    with pytest.raises(ValueError, match=f"bin_size must be a positive integer, got {re.escape(repr(value))}"):
        bin_centres(value)


def test_bin_centres_take_numpy_integers_and_a_side_of_one():
    from fastnn.colorize.bins import bin_centres

    np.testing.assert_array_equal(bin_centres(np.int64(10)), bin_centres(10))
    assert len(bin_centres(1)) > len(bin_centres(2))


def soft_targets_by_loops(chroma, centres, neighbours=5, sigma=5.0):
    out = np.zeros((len(chroma), len(centres)))
    for r, c in enumerate(np.clip(chroma, -64, 64)):
        d2 = ((centres - c) ** 2).sum(axis=1)
        nearest = np.argsort(d2, kind="stable")[:neighbours]
        weights = np.exp(-d2[nearest] / (2 * sigma ** 2))
        out[r, nearest] = weights / weights.sum()
    return out


def test_soft_targets_are_gaussian_weights_of_the_five_nearest_centres_in_any_chunks(monkeypatch):
    from fastnn.colorize import bins

    centres = bins.bin_centres(10)
    chroma = np.random.default_rng(8).uniform(-80, 80, (7, 2)) + 0.25  # no ties between distances
    expected = soft_targets_by_loops(chroma, centres)
    np.testing.assert_allclose(bins.soft_targets(chroma, centres), expected, rtol=1e-12, atol=1e-15)
    monkeypatch.setattr(bins, "_CHUNK", 3)
    np.testing.assert_allclose(bins.soft_targets(chroma, centres), expected, rtol=1e-12, atol=1e-15)
    single = bins.soft_targets(chroma, centres, np.float32)
    assert single.dtype == np.float32
    np.testing.assert_allclose(single, expected, rtol=1e-6, atol=1e-7)
    three = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    np.testing.assert_allclose(bins.soft_targets(np.array([[3.0, 4.0]]), three),
                               soft_targets_by_loops(np.array([[3.0, 4.0]]), three))


def test_annealed_mean_sharpens_the_normalised_scores_by_the_temperature():
    from fastnn.colorize.bins import annealed_mean

    centres = np.array([[0.0, 0.0], [20.0, -10.0], [-30.0, 40.0]])
    scores = np.array([[0.2, 0.5, 0.3], [1.0, 3.0, 0.0], [0.0, 0.0, 0.0]])
    for temperature in (0.38, 1.0, 2.0):
        floored = np.maximum(scores, 1e-300)
        sharpened = (floored / floored.sum(axis=1, keepdims=True)) ** (1 / temperature)
        weights = sharpened / sharpened.sum(axis=1, keepdims=True)
        np.testing.assert_allclose(annealed_mean(scores, centres, temperature), weights @ centres,
                                   rtol=1e-12, atol=1e-12)
    # all scores 0: every bin equally likely
    np.testing.assert_allclose(annealed_mean(scores[2:], centres, 0.38), [centres.mean(axis=0)], atol=1e-12)


# -- params.py -------------------------------------------------------------------------------

def default_params(**changes):
    from fastnn.colorize import Colorizer

    return dict(Colorizer().get_params(), **changes)


def test_check_texture_scales_keeps_the_order_and_refuses_sides_below_2_and_repeats():
    from fastnn.colorize.params import check_texture_scales

    assert check_texture_scales((5, 2, 11)) == (5, 2, 11)
    assert check_texture_scales(()) == ()
    with pytest.raises(ValueError, match=re.escape("texture_scales entries must be >= 2 (window sides in pixels), "
                                                   "got 1 in [3, 1]")):
        check_texture_scales((3, 1))
    with pytest.raises(ValueError, match=re.escape("texture_scales must not repeat a side, got [3, 5, 3]")):
        check_texture_scales((3, 5, 3))


def test_check_params_returns_every_parameter_checked():
    from fastnn.colorize.params import PARAMS, check_params

    given = default_params(patch_size=1, hidden_layer_sizes=[4, 3], epochs=1, mini_batch_size=1, eta=0.5,
                           lmbda=0, cost="quadratic", dtype=np.float64, samples_per_image=1, mode="bins",
                           bin_size=1, temperature=2, refine=None, refine_radius=1, refine_eps=1e-3,
                           validation_fraction=0.999, n_iter_no_change=1, texture_scales=[2], random_state=0)
    checked = check_params(given)
    assert list(checked) == list(PARAMS)
    assert checked == {"patch_size": 1, "hidden_layer_sizes": (4, 3), "epochs": 1, "mini_batch_size": 1,
                       "eta": 0.5, "lmbda": 0.0, "cost": "quadratic", "dtype": "float64", "samples_per_image": 1,
                       "mode": "bins", "bin_size": 1, "temperature": 2.0, "refine": None, "refine_radius": 1,
                       "refine_eps": 1e-3, "validation_fraction": 0.999, "n_iter_no_change": 1,
                       "texture_scales": (2,), "random_state": 0}
    assert check_params(default_params(random_state=None, validation_fraction=None))["random_state"] is None
    assert check_params(default_params())["refine"] == "guided"


@pytest.mark.parametrize("change, error, message", [
    ({"patch_size": 4}, ValueError, "patch_size must be odd (the pixel is its centre), got 4"),
    ({"patch_size": 0}, ValueError, "patch_size must be >= 1, got 0"),
    ({"random_state": -1}, ValueError, "random_state must be >= 0, got -1"),
    ({"random_state": 1.5}, TypeError, "random_state must be an integer"),
    ({"validation_fraction": 1.0}, ValueError, "validation_fraction must be None or in (0, 1), got 1.0"),
    ({"validation_fraction": 1.5}, ValueError, "validation_fraction must be None or in (0, 1), got 1.5"),
    ({"validation_fraction": 0.0}, ValueError, "validation_fraction must be > 0, got 0.0"),
    ({"refine": "box"}, ValueError, "refine must be one of ['guided'], got 'box'"),
    ({"refine_radius": 0}, ValueError, "refine_radius must be >= 1, got 0"),
    ({"refine_eps": -1.0}, ValueError, "refine_eps must be > 0, got -1.0"),
    ({"hidden_layer_sizes": (0,)}, ValueError, "hidden_layer_sizes entries must be >= 1"),
    ({"epochs": 0}, ValueError, "epochs must be >= 1, got 0"),
    ({"mini_batch_size": 0}, ValueError, "mini_batch_size must be >= 1, got 0"),
    ({"eta": 0.0}, ValueError, "eta must be > 0, got 0.0"),
    ({"lmbda": -0.5}, ValueError, "lmbda must be >= 0, got -0.5"),
    ({"cost": "log"}, ValueError, "cost must be one of ['cross-entropy', 'quadratic'], got 'log'"),
    ({"dtype": "float16"}, TypeError, "dtype must be 'float64' or 'float32'"),
    ({"samples_per_image": 0}, ValueError, "samples_per_image must be >= 1, got 0"),
    ({"mode": "classes"}, ValueError, "mode must be one of ['regression', 'bins'], got 'classes'"),
    ({"bin_size": 0}, ValueError, "bin_size must be >= 1, got 0"),
    ({"temperature": 0.0}, ValueError, "temperature must be > 0, got 0.0"),
    ({"n_iter_no_change": 0}, ValueError, "n_iter_no_change must be >= 1, got 0"),
    ({"texture_scales": (1,)}, ValueError, "texture_scales entries must be >= 2"),
])
def test_check_params_names_the_parameter_and_its_value(change, error, message):
    from fastnn.colorize.params import check_params

    with pytest.raises(error, match=re.escape(message)):
        check_params(default_params(**change))


def test_output_count_is_two_or_one_per_bin():
    from fastnn.colorize.bins import bin_centres
    from fastnn.colorize.params import check_params, output_count

    assert output_count(check_params(default_params())) == 2
    assert output_count(check_params(default_params(mode="bins", bin_size=16))) == len(bin_centres(16))


def test_files_before_version_2_load_with_today_s_defaults_but_no_lmbda_and_no_refinement():
    from fastnn.colorize.params import PARAMS_BEFORE_VERSION_2, PARAMS_BEFORE_VERSION_3

    defaults = default_params()
    assert PARAMS_BEFORE_VERSION_2 == {**{name: defaults[name] for name in PARAMS_BEFORE_VERSION_2},
                                       "lmbda": 0.0, "refine": None}
    assert PARAMS_BEFORE_VERSION_3 == {"texture_scales": defaults["texture_scales"]} == {"texture_scales": ()}
