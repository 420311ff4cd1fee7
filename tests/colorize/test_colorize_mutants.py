"""Small, fast checks of the colorizer's modules, one rule at a time (written against mutation-testing
survivors: docs/guide/testing.md, "Mutation testing").

Tolerances: the guided filter and the features are compared with direct loop computations in float64
to 1e-12 (the same sums in another order).
"""
import re
import time

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
    ((6, 7), (6, 8)), ((6, 7), (7, 7)), ((6, 7), (6, 5)), ((6, 7), (5, 7, 2)), ((6, 7), (6, 7, 2, 1)),
    ((6,), (6,)), ((6, 7, 1), (6, 7, 1)),
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

@pytest.mark.parametrize("bin_size, half", [(10, 60), (16, 64), (7, 63), (64, 64), (2, 64)])
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
                           bin_size=1, temperature=2, rebalance=1, refine=None, refine_radius=1, refine_eps=1e-3,
                           validation_fraction=0.999, n_iter_no_change=1, texture_scales=[2],
                           context_scales=[3, 1], n_networks=2, random_state=0)
    checked = check_params(given)
    assert list(checked) == list(PARAMS)
    assert checked == {"patch_size": 1, "hidden_layer_sizes": (4, 3), "epochs": 1, "mini_batch_size": 1,
                       "eta": 0.5, "lmbda": 0.0, "cost": "quadratic", "dtype": "float64", "samples_per_image": 1,
                       "mode": "bins", "bin_size": 1, "temperature": 2.0, "rebalance": 1.0, "refine": None,
                       "refine_radius": 1,
                       "refine_eps": 1e-3, "validation_fraction": 0.999, "n_iter_no_change": 1,
                       "texture_scales": (2,), "context_scales": (3, 1), "n_networks": 2, "random_state": 0}
    assert check_params(default_params(random_state=None, validation_fraction=None))["random_state"] is None
    assert check_params(default_params())["refine"] == "guided"
    assert check_params(default_params())["rebalance"] is None
    assert check_params(default_params(mode="bins", rebalance=0))["rebalance"] == 0.0


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
    ({"rebalance": 0.5}, ValueError, "rebalance=0.5 needs mode='bins' (it weights the a*b* bins), got "
                                     "mode='regression'"),
    ({"mode": "bins", "rebalance": 1.5}, ValueError, "rebalance must be None or in [0, 1] (the uniform "
                                                     "distribution's share), got 1.5"),
    ({"mode": "bins", "rebalance": -0.5}, ValueError, "rebalance must be >= 0, got -0.5"),
    ({"mode": "bins", "rebalance": "0.5"}, TypeError, "rebalance must be a real number, got '0.5'"),
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
    from fastnn.colorize.params import (PARAMS_BEFORE_VERSION_2, PARAMS_BEFORE_VERSION_3, PARAMS_BEFORE_VERSION_4,
                                        PARAMS_BEFORE_VERSION_5)

    defaults = default_params()
    assert PARAMS_BEFORE_VERSION_2 == {**{name: defaults[name] for name in PARAMS_BEFORE_VERSION_2},
                                       "lmbda": 0.0, "refine": None}
    assert PARAMS_BEFORE_VERSION_3 == {"texture_scales": defaults["texture_scales"]} == {"texture_scales": ()}
    assert PARAMS_BEFORE_VERSION_4 == {name: defaults[name] for name in ("context_scales", "n_networks")} \
        == {"context_scales": (4, 16), "n_networks": 1}
    assert PARAMS_BEFORE_VERSION_5 == {"rebalance": defaults["rebalance"]} == {"rebalance": None}


# -- fileformat.py ---------------------------------------------------------------------------

def tiny_image(seed, size=12):
    from skimage.color import lab2rgb

    rng = np.random.default_rng(seed)
    lab = np.dstack([rng.uniform(30, 70, (size, size)), rng.uniform(-20, 20, (size, size, 2))])
    return lab2rgb(lab)


# every parameter away from its default (texture needs patch_size >= 1 only)
NON_DEFAULT = {"patch_size": 3, "hidden_layer_sizes": (5, 4), "epochs": 2, "mini_batch_size": 7, "eta": 0.7,
               "lmbda": 0.25, "cost": "quadratic", "dtype": "float64", "samples_per_image": 60, "mode": "bins",
               "bin_size": 24, "temperature": 0.5, "refine": None, "refine_radius": 3, "refine_eps": 0.02,
               "validation_fraction": 0.25, "n_iter_no_change": 2, "texture_scales": (3, 2),
               "context_scales": (2,), "n_networks": 2, "rebalance": 0.5, "random_state": 5}


@pytest.fixture(scope="module")
def tiny_model():
    from fastnn.colorize import Colorizer

    assert set(NON_DEFAULT) == set(Colorizer().get_params())
    assert all(NON_DEFAULT[name] != value for name, value in Colorizer().get_params().items())
    return Colorizer(**NON_DEFAULT).fit([tiny_image(0), tiny_image(1)])


def arrays_of(model):
    from fastnn.colorize.fileformat import colorizer_arrays

    return dict(colorizer_arrays(model))


def load_arrays(arrays):
    from fastnn.colorize import Colorizer
    from fastnn.colorize.fileformat import colorizer_from_arrays

    return colorizer_from_arrays(Colorizer, arrays, "m.npz")


def with_meta(arrays, change):
    import json

    meta = json.loads(str(arrays["meta"]))
    change(meta)
    return dict(arrays, meta=np.array(json.dumps(meta)))


def test_a_file_keeps_every_non_default_parameter_and_fitted_value(tiny_model, tmp_path):
    from fastnn.colorize import Colorizer

    tiny_model.save(tmp_path / "m.npz")
    loaded = Colorizer.load(tmp_path / "m.npz")
    assert loaded.get_params() == tiny_model.get_params() == NON_DEFAULT
    assert loaded.params_ == tiny_model.params_
    assert loaded.n_features_in_ == tiny_model.n_features_in_ == 9 + 25 + 2
    for name in ("feature_mean_", "feature_scale_", "chroma_mean_"):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(tiny_model, name))
    assert loaded.chroma_mean_.dtype == np.float64
    assert loaded.n_samples_ == tiny_model.n_samples_ and loaded.fit_seconds_ == tiny_model.fit_seconds_
    image = tiny_image(2)
    np.testing.assert_array_equal(loaded.predict(image), tiny_model.predict(image))


def test_the_file_records_format_5_and_the_fit_seconds_or_0(tiny_model):
    import copy
    import json

    arrays = arrays_of(tiny_model)
    assert arrays["format_version"].dtype == np.int64 and int(arrays["format_version"]) == 5
    assert json.loads(str(arrays["meta"]))["fit_seconds"] == tiny_model.fit_seconds_ > 0
    model = copy.copy(tiny_model)
    del model.fit_seconds_  # a colorizer fitted before fit_seconds_ existed
    assert json.loads(str(arrays_of(model)["meta"]))["fit_seconds"] == 0.0


@pytest.mark.parametrize("version", [None, np.array([5]), np.array(5.0), np.array(0), np.array(6), np.array("5")])
def test_files_of_other_format_versions_are_refused(tiny_model, version):
    from fastnn import ModelFileError

    arrays = arrays_of(tiny_model)
    if version is None:
        del arrays["format_version"]
    else:
        arrays["format_version"] = version
    with pytest.raises(ModelFileError, match=re.escape("colorizer file format version") + ".*"
                       + re.escape("is not one of (1, 2, 3, 4, 5)")):
        load_arrays(arrays)


def test_an_unsigned_format_version_is_read(tiny_model):
    arrays = arrays_of(tiny_model)
    arrays["format_version"] = np.array(5, dtype=np.uint8)
    assert load_arrays(arrays).get_params() == NON_DEFAULT


def version_1_arrays(model):
    """The arrays of ``model`` as format version 1 wrote them (no lmbda, refinement, bins, early stopping,
    texture, context scales, further networks or rebalancing)."""
    from fastnn.colorize.params import (PARAMS_BEFORE_VERSION_2, PARAMS_BEFORE_VERSION_3, PARAMS_BEFORE_VERSION_4,
                                        PARAMS_BEFORE_VERSION_5)

    def drop(meta):
        for name in (*PARAMS_BEFORE_VERSION_2, *PARAMS_BEFORE_VERSION_3, *PARAMS_BEFORE_VERSION_4,
                     *PARAMS_BEFORE_VERSION_5):
            del meta["params"][name]

    return dict(with_meta(arrays_of(model), drop), format_version=np.array(1))


@pytest.fixture(scope="module")
def version_1_model():
    from fastnn.colorize import Colorizer

    old = {name: NON_DEFAULT[name] for name in ("patch_size", "hidden_layer_sizes", "epochs", "mini_batch_size",
                                                 "eta", "cost", "dtype", "samples_per_image", "random_state")}
    return Colorizer(**old, lmbda=0.0, refine=None).fit([tiny_image(0)])


def test_a_version_1_file_loads_with_the_parameters_that_reproduce_it(version_1_model):
    from fastnn.colorize.params import PARAMS_BEFORE_VERSION_2

    loaded = load_arrays(version_1_arrays(version_1_model))
    assert loaded.get_params() == dict(version_1_model.get_params(), **PARAMS_BEFORE_VERSION_2, texture_scales=())
    image = tiny_image(3)
    np.testing.assert_array_equal(loaded.predict(image), version_1_model.predict(image))


@pytest.mark.parametrize("version", [1, 2, 3, 4, 5])
def test_a_file_must_name_exactly_the_parameters_of_its_version(version_1_model, version):
    from fastnn import ModelFileError

    arrays = version_1_arrays(version_1_model)
    arrays["format_version"] = np.array(version)
    if version == 1:
        arrays = with_meta(arrays, lambda meta: meta["params"].update(lmbda=0.0))  # version 2's
    elif version == 2:
        arrays = with_meta(arrays, lambda meta: meta["params"].update(texture_scales=[]))  # version 3's
    elif version in (3, 4):
        versions_2_to_4 = dict(texture_scales=[], lmbda=0.0, refine=None, refine_radius=16, refine_eps=0.01,
                               validation_fraction=None, n_iter_no_change=3, mode="regression", bin_size=10,
                               temperature=0.38, context_scales=[4, 16])  # and 4's
        if version == 4:
            versions_2_to_4.update(n_networks=1, rebalance=None)  # 4's whole, and 5's
        arrays = with_meta(arrays, lambda meta: meta["params"].update(versions_2_to_4))
    with pytest.raises(ModelFileError, match="'meta' entry does not describe a colorizer"):
        load_arrays(arrays)


@pytest.mark.parametrize("change", [
    lambda meta: meta.clear(),
    lambda meta: meta.pop("chroma_mean"),
    lambda meta: meta.pop("n_samples"),
    lambda meta: meta.pop("params"),
    lambda meta: meta.update(params=[1, 2]),
    lambda meta: meta["params"].pop("eta"),
    lambda meta: meta["params"].update(colour="red"),
])
def test_a_meta_entry_that_does_not_describe_a_colorizer_is_refused(tiny_model, change):
    from fastnn import ModelFileError

    with pytest.raises(ModelFileError, match="'meta' entry does not describe a colorizer"):
        load_arrays(with_meta(arrays_of(tiny_model), change))


def test_a_meta_entry_that_is_not_an_object_is_refused(tiny_model):
    from fastnn import ModelFileError

    arrays = dict(arrays_of(tiny_model), meta=np.array("[1, 2, 3]"))
    with pytest.raises(ModelFileError, match="'meta' entry does not describe a colorizer"):
        load_arrays(arrays)


def test_invalid_parameters_in_a_file_are_named(tiny_model):
    from fastnn import ModelFileError

    arrays = with_meta(arrays_of(tiny_model), lambda meta: meta["params"].update(epochs=0))
    with pytest.raises(ModelFileError, match=re.escape("invalid colorizer parameters (epochs must be >= 1, got 0)")):
        load_arrays(arrays)


@pytest.mark.parametrize("change", [
    {"dtype": "float32"}, {"cost": "cross-entropy"}, {"hidden_layer_sizes": [5, 3]}, {"bin_size": 16},
    {"texture_scales": [3]}, {"mode": "regression", "rebalance": None},
])
def test_a_network_that_disagrees_with_the_parameters_is_refused(tiny_model, change):
    from fastnn import ModelFileError

    arrays = with_meta(arrays_of(tiny_model), lambda meta: meta["params"].update(change))
    with pytest.raises(ModelFileError, match="does not match the colorizer's parameters"):
        load_arrays(arrays)


@pytest.mark.parametrize("name", ["feature_mean", "feature_scale"])
@pytest.mark.parametrize("bad", ["missing", "short", "long", "float32", "complex", "nan", "inf", "2-d", "column"])
def test_standardisation_entries_must_be_finite_float64_one_per_feature(tiny_model, name, bad):
    from fastnn import ModelFileError

    arrays = arrays_of(tiny_model)
    good = arrays[name]
    arrays[name] = {"missing": None, "short": good[:-1], "long": np.r_[good, 1.0], "float32": good.astype(np.float32),
                    "complex": good.astype(np.complex128),
                    "nan": np.r_[good[:-1], np.nan], "inf": np.r_[np.inf, good[1:]], "2-d": good[None],
                    "column": good[:, None]}[bad]
    if bad == "missing":
        del arrays[name]
    with pytest.raises(ModelFileError, match=re.escape(f"entry '{name}' must be 36 finite float64 values")):
        load_arrays(arrays)


@pytest.mark.parametrize("chroma_mean", [[1.0], [1.0, 2.0, 3.0], "12", [1.0, "2"], [1.0, float("inf")],
                                         {"a": 1, "b": 2}])
def test_the_mean_chroma_must_be_two_finite_numbers(tiny_model, chroma_mean):
    from fastnn import ModelFileError

    arrays = with_meta(arrays_of(tiny_model), lambda meta: meta.update(chroma_mean=chroma_mean))
    with pytest.raises(ModelFileError, match="'chroma_mean' must be two finite numbers"):
        load_arrays(arrays)


def test_whole_numbers_are_a_mean_chroma_too(tiny_model):
    arrays = with_meta(arrays_of(tiny_model), lambda meta: meta.update(chroma_mean=[3, -4]))
    loaded = load_arrays(arrays)
    assert loaded.chroma_mean_.dtype == np.float64 and loaded.chroma_mean_.tolist() == [3.0, -4.0]


@pytest.mark.parametrize("n_samples", [0, -1, True, 2.0, "5", None])
def test_the_sample_count_must_be_a_positive_integer(tiny_model, n_samples):
    from fastnn import ModelFileError

    arrays = with_meta(arrays_of(tiny_model), lambda meta: meta.update(n_samples=n_samples))
    with pytest.raises(ModelFileError, match=re.escape(f"'n_samples' must be a positive integer, got {n_samples!r}")):
        load_arrays(arrays)


def test_fit_seconds_may_be_missing_or_whole_but_not_text(tiny_model):
    from fastnn import ModelFileError

    assert load_arrays(with_meta(arrays_of(tiny_model), lambda meta: meta.update(n_samples=1))).n_samples_ == 1
    assert load_arrays(with_meta(arrays_of(tiny_model), lambda meta: meta.pop("fit_seconds"))).fit_seconds_ is None
    assert load_arrays(with_meta(arrays_of(tiny_model), lambda meta: meta.update(fit_seconds=3))).fit_seconds_ == 3
    with pytest.raises(ModelFileError, match=re.escape("'fit_seconds' must be a number, got '3'")):
        load_arrays(with_meta(arrays_of(tiny_model), lambda meta: meta.update(fit_seconds="3")))


@pytest.mark.parametrize("value", [0.0, -1.0])
def test_a_feature_scale_must_be_positive(tiny_model, value):
    from fastnn import ModelFileError

    arrays = arrays_of(tiny_model)
    arrays["feature_scale"] = arrays["feature_scale"].copy()
    arrays["feature_scale"][7] = value
    with pytest.raises(ModelFileError, match="'feature_scale' must be positive"):
        load_arrays(arrays)


def test_entries_the_format_does_not_have_are_named(tiny_model):
    from fastnn import ModelFileError

    arrays = dict(arrays_of(tiny_model), extra=np.zeros(2), also=np.ones(1))
    with pytest.raises(ModelFileError, match=re.escape("unexpected entries ['also', 'extra']")):
        load_arrays(arrays)


# -- images.py -------------------------------------------------------------------------------

def test_image_files_expand_folders_sorted_keep_files_and_skip_other_names(tmp_path):
    from fastnn.colorize.images import image_files

    folder = tmp_path / "photos"
    folder.mkdir()
    for name in ("b.PNG", "a.jpg", "c.JPEG", "notes.txt", "d.gif"):
        (folder / name).write_bytes(b"x")
    (folder / "sub.png").mkdir()  # a folder with an image's name is not an image
    (tmp_path / "extra.jpg").write_bytes(b"x")
    found = image_files([str(tmp_path / "extra.jpg"), folder])
    assert found == [str(tmp_path / "extra.jpg")] + [str(folder / n) for n in ("a.jpg", "b.PNG", "c.JPEG")]
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "readme.md").write_bytes(b"x")
    with pytest.raises(ValueError, match=re.escape(f"folder {str(empty)!r} holds no image file (.png, .jpg, .jpeg)")):
        image_files([empty])
    with pytest.raises(FileNotFoundError, match=re.escape(f"image file {str(tmp_path / 'no.png')!r} not found")):
        image_files([tmp_path / "extra.jpg", tmp_path / "no.png"])


@pytest.mark.parametrize("mode, shape", [("L", (5, 6)), ("1", (5, 6)), ("LA", (5, 6)), ("I;16", (5, 6)),
                                         ("F", (5, 6)), ("I", (5, 6)), ("RGB", (5, 6, 3)), ("RGBA", (5, 6, 3)),
                                         ("P", (5, 6, 3)), ("CMYK", (5, 6, 3))])
def test_read_image_gives_gray_or_rgb_uint8(tmp_path, mode, shape):
    from PIL import Image

    from fastnn.colorize.images import read_image

    path = tmp_path / ("a.tif" if mode in ("I;16", "F", "I", "CMYK") else "a.png")
    Image.new(mode, (6, 5)).save(path)
    pixels = read_image(path)
    assert pixels.shape == shape and pixels.dtype == np.uint8


def test_read_image_names_the_file_and_the_problem(tmp_path):
    from PIL import Image

    from fastnn.colorize.images import read_image

    with pytest.raises(FileNotFoundError, match=re.escape(f"image file {str(tmp_path / 'x.png')!r} not found")):
        read_image(tmp_path / "x.png")
    with pytest.raises(ValueError, match=re.escape(f"{str(tmp_path)!r} is a folder, not an image file")):
        read_image(tmp_path)
    (tmp_path / "t.png").write_text("text")
    with pytest.raises(ValueError, match=re.escape(f"{str(tmp_path / 't.png')!r} is not an image file Pillow can")):
        read_image(tmp_path / "t.png")
    Image.new("RGB", (40, 40), (200, 10, 10)).save(tmp_path / "c.png")
    (tmp_path / "cut.png").write_bytes((tmp_path / "c.png").read_bytes()[:-30])
    with pytest.raises(ValueError, match=re.escape(f"{str(tmp_path / 'cut.png')!r} is truncated or corrupted (")):
        read_image(tmp_path / "cut.png")


def test_image_name_is_the_file_or_the_label_and_index():
    from pathlib import Path

    from fastnn.colorize.images import image_name

    assert image_name("a/b.png", 3, "images") == "'a/b.png'"
    assert image_name(Path("a/b.png"), None, "images") == "'a/b.png'"
    assert image_name(np.zeros((2, 2)), 0, "images") == "images[0]"
    assert image_name(np.zeros((2, 2)), None, "image") == "image"


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_to_float_scales_whole_pixels_by_their_type_s_maximum(dtype):
    from fastnn.colorize.images import to_float

    top = np.iinfo(dtype).max
    out = to_float(np.array([[0, 1, top]], dtype=dtype), "x")
    assert out.dtype == np.float64 and out.tolist() == [[0.0, 1 / top, 1.0]]


def test_to_float_keeps_floats_in_0_1_as_float64():
    from fastnn.colorize.images import to_float

    image = np.array([[0.0, 0.25], [1.0, 0.5]], dtype=np.float32)
    out = to_float(image, "x")
    assert out.dtype == np.float64 and out.tolist() == [[0.0, 0.25], [1.0, 0.5]]
    rgb = np.full((2, 2, 3), 0.5)
    assert to_float(rgb, "x").shape == (2, 2, 3)


@pytest.mark.parametrize("image, error, message", [
    (np.zeros((2, 2), dtype=bool), TypeError, "x has dtype bool; expected uint8 or uint16 pixels"),
    (np.zeros((2, 2), dtype=np.int32), TypeError, "x has dtype int32; expected uint8 or uint16 pixels"),
    (np.zeros((2, 2), dtype=np.uint32), TypeError, "x has dtype uint32; expected uint8 or uint16 pixels"),
    (np.zeros((2, 2), dtype=complex), TypeError, "x has dtype complex128; expected"),
    (np.zeros(4), ValueError, "x has shape (4,); expected (height, width) grayscale or (height, width, 3) RGB"),
    (np.zeros((2, 2, 2, 3)), ValueError, "x has shape (2, 2, 2, 3); expected"),
    (np.zeros((2, 2, 2)), ValueError, "x has shape (2, 2, 2); expected (height, width) grayscale or (height, "
                                      "width, 3) RGB"),
    (np.zeros((2, 2, 4)), ValueError, "RGB (drop alpha with image[..., :3])"),
    (np.zeros((2, 2, 5)), ValueError, "x has shape (2, 2, 5); expected (height, width) grayscale or (height, "
                                      "width, 3) RGB"),  # no alpha to drop
    (np.array([[0.5, np.nan]]), ValueError, "x contains NaN or infinity"),
    (np.array([[0.5, -np.inf]]), ValueError, "x contains NaN or infinity"),
    (np.array([[-0.25, 0.5]]), ValueError, "x is a float image with values in [-0.25, 0.5]; expected [0, 1]"),
    (np.array([[0.0, 1.5]]), ValueError, "x is a float image with values in [0, 1.5]; expected [0, 1]"),
])
def test_to_float_refuses_other_images_naming_them(image, error, message):
    from fastnn.colorize.images import to_float

    with pytest.raises(error, match=re.escape(message) + ("$" if message.endswith("RGB") else "")):
        to_float(image, "x")


def test_check_size_needs_the_patch_in_both_directions():
    from fastnn.colorize.images import check_size

    check_size(np.zeros((7, 7)), "x", 7)
    for shape in ((6, 7), (7, 6, 3)):
        with pytest.raises(ValueError, match=re.escape(f"x is {shape[0]} x {shape[1]} pixels, smaller than the "
                                                       "7 x 7 patch")):
            check_size(np.zeros(shape), "x", 7)


def test_check_image_list_wants_a_non_empty_list():
    from pathlib import Path

    from fastnn.colorize.images import check_image_list

    images = (np.zeros((2, 2)) for _ in range(2))
    assert len(check_image_list(images, "images")) == 2
    for single in ("a.png", Path("a.png"), np.zeros((3, 3))):
        with pytest.raises(TypeError, match=re.escape("images must be a list of images (arrays or file paths); "
                                                      "wrap a single image as [images]")):
            check_image_list(single, "images")
    with pytest.raises(TypeError, match="images must be a list of images, got int"):
        check_image_list(3, "images")
    with pytest.raises(ValueError, match="images is empty: at least one image is required"):
        check_image_list([], "images")


def test_lightness_of_gray_is_that_of_the_same_gray_in_rgb():
    from skimage.color import rgb2lab

    from fastnn.colorize.images import lightness

    gray = np.random.default_rng(9).random((4, 5))
    np.testing.assert_array_equal(lightness(gray), rgb2lab(np.dstack([gray] * 3))[..., 0])
    rgb = np.random.default_rng(10).random((4, 5, 3))
    np.testing.assert_array_equal(lightness(rgb), rgb2lab(rgb)[..., 0])


# -- evaluation.py ---------------------------------------------------------------------------

def test_colourfulness_is_the_mean_chroma_magnitude():
    from fastnn.colorize.evaluation import colourfulness

    assert colourfulness(np.array([[3.0, 4.0], [-6.0, 8.0], [0.0, -1.0]])) == pytest.approx((5 + 10 + 1) / 3)


def test_flat_mask_is_a_window_std_of_lightness_below_2():
    from fastnn.colorize import evaluation

    assert (evaluation.FLAT_WINDOW, evaluation.FLAT_STD, evaluation.BLOTCH_SIGMA) == (7, 2.0, 4.0)
    L = 50 + np.random.default_rng(11).normal(0, 1.0, (14, 15)) * np.linspace(0.5, 4, 15)[None, :]
    padded = np.pad(L, 3, mode="symmetric")
    expected = np.array([[padded[i:i + 7, j:j + 7].std() < 2 for j in range(15)] for i in range(14)])
    assert 0 < expected.sum() < expected.size
    np.testing.assert_array_equal(evaluation.flat_mask(L), expected)


def test_blotchiness_is_the_rms_of_chroma_minus_its_blur_over_flat_pixels():
    from scipy.ndimage import gaussian_filter

    from fastnn.colorize.evaluation import blotchiness, flat_mask

    L = np.full((20, 24), 50.0)
    L[:, 12:] = np.where(np.arange(12) % 2 == 0, 20.0, 80.0)  # stripes: not flat
    chroma = np.random.default_rng(12).normal(0, 5, (20, 24, 2))
    mask = flat_mask(L)
    assert 0 < mask.sum() < mask.size
    blurred = np.dstack([gaussian_filter(chroma[..., k], 4.0, mode="reflect") for k in range(2)])
    expected = np.sqrt(np.mean((chroma - blurred)[mask] ** 2))
    assert blotchiness(L, chroma) == pytest.approx(expected, rel=1e-12)
    assert np.isnan(blotchiness(np.where(np.arange(24) % 2 == 0, 0.0, 100.0) * np.ones((20, 1)), chroma))


@pytest.fixture(scope="module")
def refined_model():
    from fastnn.colorize import Colorizer

    return Colorizer(patch_size=3, hidden_layer_sizes=(4,), epochs=1, samples_per_image=80, refine="guided",
                     refine_radius=2, random_state=1).fit([tiny_image(0)])


def test_evaluate_rows_are_the_metrics_of_each_method_s_image(refined_model, tmp_path):
    from PIL import Image
    from skimage.color import rgb2lab
    from skimage.metrics import peak_signal_noise_ratio

    from fastnn.colorize.colour import lab_to_rgb
    from fastnn.colorize.evaluation import blotchiness, colourfulness, evaluate

    first = flat_colour_image(12, 12, 4)  # flat lightness: every blotchiness is a number
    second = tiny_image(5, size=9)
    path = tmp_path / "second.png"
    Image.fromarray(np.rint(second * 255).astype(np.uint8)).save(path)
    second = np.asarray(Image.open(path)) / 255.0
    shift = {"shifted": lambda X: refined_model.predict_chroma(X) + 3.0}
    rows = evaluate(refined_model, [first, str(path)], shift, keep_images=True, unrefined=True)
    assert [(r["image"], r["method"]) for r in rows] == [
        (image, method) for image in ("images[0]", "second.png")
        for method in ("fastnn", "grayscale", "mean chroma", "shifted", "fastnn unrefined")]
    for image, group in ((first, rows[:5]), (second, rows[5:])):
        lab = rgb2lab(image)
        L = lab[..., 0]
        raw = refined_model.chroma_maps(L, {"net": refined_model.predict_chroma})["net"]
        expected = {"fastnn": refined_model.refine_chroma(L, raw), "grayscale": np.zeros(L.shape + (2,)),
                    "mean chroma": np.broadcast_to(refined_model.chroma_mean_, L.shape + (2,)),
                    "shifted": raw + 3.0, "fastnn unrefined": raw}
        for row in group:
            result = lab_to_rgb(L, expected[row["method"]])
            np.testing.assert_allclose(row["image_rgb"], result, rtol=0, atol=1e-12)
            chroma = rgb2lab(result)[..., 1:]
            assert row["psnr"] == pytest.approx(peak_signal_noise_ratio(image, result, data_range=1.0), rel=1e-9)
            assert row["ab_error"] == pytest.approx(np.mean(np.abs(chroma - lab[..., 1:])), rel=1e-9)
            assert row["colourfulness"] == pytest.approx(colourfulness(chroma), rel=1e-9)
            assert row["blotchiness"] == pytest.approx(blotchiness(L, chroma), rel=1e-9, nan_ok=True)
            assert row["true_colourfulness"] == pytest.approx(colourfulness(lab[..., 1:]), rel=1e-12)
            assert row["true_blotchiness"] == pytest.approx(blotchiness(L, lab[..., 1:]), rel=1e-12, nan_ok=True)
    assert not any(np.isnan(row[key]) for row in rows[:5] for key in ("blotchiness", "true_blotchiness"))
    named = evaluate(refined_model, [first], names=["dir/cat.png"])
    assert [r["image"] for r in named] == ["cat.png"] * 3 and "image_rgb" not in named[0]


def test_evaluate_without_refinement_has_no_unrefined_row(tiny_model):
    from fastnn.colorize.evaluation import evaluate

    rows = evaluate(tiny_model, [tiny_image(4)], unrefined=True)
    assert [r["method"] for r in rows] == ["fastnn", "grayscale", "mean chroma"]


def test_evaluate_checks_every_image_before_any_work(refined_model, monkeypatch):
    from fastnn.colorize.evaluation import evaluate

    calls = []
    monkeypatch.setattr(refined_model, "chroma_maps", lambda *args: calls.append(args))
    with pytest.raises(ValueError, match=re.escape("images[1] is a grayscale image: evaluate needs the colour")):
        evaluate(refined_model, [tiny_image(4), np.full((9, 9), 0.5)])
    with pytest.raises(ValueError, match=re.escape("images[1] is 2 x 9 pixels, smaller than the 3 x 3 patch")):
        evaluate(refined_model, [tiny_image(4), np.full((2, 9, 3), 0.5)])
    with pytest.raises(ValueError, match=re.escape("names has 1 entries for 2 images")):
        evaluate(refined_model, [tiny_image(4), tiny_image(5)], names=["a"])
    many = [tiny_image(4)] * 299 + [np.full((9, 9), 0.5)]  # counts above 256 are compared by value
    with pytest.raises(ValueError, match=re.escape("images[299] is a grayscale image")):
        evaluate(refined_model, many, names=[f"{i}" for i in range(300)])
    assert calls == []


def test_format_table_gives_each_image_and_the_mean_per_method():
    from fastnn.colorize.evaluation import format_table

    rows = [{"image": "cat", "method": "fastnn", "psnr": 20.0, "ab_error": 9.5, "colourfulness": 12.25,
             "blotchiness": 1.0},
            {"image": "cat", "method": "gray", "psnr": 18.0, "ab_error": 12.0, "colourfulness": 0.0,
             "blotchiness": 0.0},
            {"image": "dog", "method": "fastnn", "psnr": 22.5, "ab_error": 7.0, "colourfulness": 10.0,
             "blotchiness": 3.0},
            {"image": "dog", "method": "gray", "psnr": 19.0, "ab_error": 11.0, "colourfulness": 0.0,
             "blotchiness": 0.5}]
    assert format_table(rows) == "\n".join([
        "| photo | fastnn | gray |", "|---|---:|---:|",
        "| cat | 20.00 dB / 9.50 | 18.00 dB / 12.00 |",
        "| dog | 22.50 dB / 7.00 | 19.00 dB / 11.00 |",
        "| mean | 21.25 dB / 8.25 | 18.50 dB / 11.50 |"])
    assert format_table(rows, ("colourfulness", "blotchiness")).splitlines()[-1] == "| mean | 11.1 / 2.00 | 0.0 / 0.25 |"
    # a photo named "mean" keeps its own line; the mean line follows
    named_mean = [dict(row, image="".join(["me", "an"]) if row["image"] == "cat" else row["image"]) for row in rows]
    assert format_table(named_mean).splitlines()[2:] == ["| mean | 20.00 dB / 9.50 | 18.00 dB / 12.00 |",
                                                          "| dog | 22.50 dB / 7.00 | 19.00 dB / 11.00 |",
                                                          "| mean | 21.25 dB / 8.25 | 18.50 dB / 11.50 |"]
    for metrics in (("psnr", "speed"), ()):
        with pytest.raises(ValueError, match=re.escape("metrics must be some of ['psnr', 'ab_error', 'colourfulness',"
                                                       f" 'blotchiness'], got {list(metrics)!r}")):
            format_table(rows, metrics)


# -- baselines.py ----------------------------------------------------------------------------

def test_the_mlp_baseline_is_scikit_learn_s_with_the_colorizer_s_settings_run_in_full(monkeypatch):
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPRegressor

    from fastnn.colorize import Colorizer
    from fastnn.colorize.baselines import fit_baselines
    from fastnn.colorize.colour import from_outputs, to_targets

    model = Colorizer(patch_size=3, hidden_layer_sizes=(5, 3), epochs=3, mini_batch_size=7, samples_per_image=60,
                      random_state=4)
    X, chroma = model.prepare([tiny_image(0), tiny_image(1)])
    start = time.perf_counter()
    predictors, seconds = fit_baselines(model, X, chroma)
    elapsed = time.perf_counter() - start
    assert list(predictors) == list(seconds) == ["LinearRegression", "MLPRegressor"]
    assert all(0 < s <= elapsed for s in seconds.values()) and sum(seconds.values()) <= elapsed
    reference = MLPRegressor(hidden_layer_sizes=(5, 3), activation="logistic", batch_size=7, max_iter=3, tol=0.0,
                             n_iter_no_change=4, shuffle=True, random_state=4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reference.fit(X, to_targets(chroma).astype(X.dtype))
    assert reference.n_iter_ == 3
    np.testing.assert_array_equal(predictors["MLPRegressor"](X), from_outputs(reference.predict(X)))
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # max_iter reached is expected, not warned
        linear_only, linear_seconds = fit_baselines(model, X, chroma, mlp=False)
    assert list(linear_only) == list(linear_seconds) == ["LinearRegression"]
    np.testing.assert_array_equal(linear_only["LinearRegression"](X), predictors["LinearRegression"](X))
    assert predictors["LinearRegression"](X).shape == (len(X), 2)


def test_compare_fits_once_and_reports_the_fit_and_the_sample_matrix(monkeypatch):
    from fastnn.colorize import Colorizer, baselines

    model = Colorizer(patch_size=3, hidden_layer_sizes=(4,), epochs=1, samples_per_image=50, refine="guided",
                      refine_radius=2, random_state=2)
    result = baselines.compare([tiny_image(0)], [tiny_image(1)], model, names=["one"], mlp=False,
                               keep_images=True, unrefined=True)
    assert result["colorizer"] is model and result["samples"] == model.n_samples_ == 50
    assert result["features"] == model.n_features_in_ == 9 + 50
    assert result["seconds"] == {"fastnn": model.fit_seconds_, "LinearRegression": result["seconds"]["LinearRegression"]}
    assert [r["method"] for r in result["rows"]] == ["fastnn", "grayscale", "mean chroma", "LinearRegression",
                                                     "fastnn unrefined"]
    assert all(r["image"] == "one" and "image_rgb" in r for r in result["rows"])
    default = baselines.compare([tiny_image(0)], [tiny_image(1)], mlp=False)
    assert default["colorizer"].get_params() == Colorizer(random_state=0).get_params()
    assert [r["method"] for r in default["rows"]] == ["fastnn", "grayscale", "mean chroma", "LinearRegression"]
    assert not any("image_rgb" in r for r in default["rows"])  # keep_images=False by default


# -- estimator.py ----------------------------------------------------------------------------

def flat_colour_image(height, width, seed):
    """Constant lightness (so every lightness feature is constant) and random colours."""
    from skimage.color import lab2rgb

    rng = np.random.default_rng(seed)
    return lab2rgb(np.dstack([np.full((height, width), 60.0), rng.uniform(-25, 25, (height, width, 2))]))


def test_prepare_samples_distinct_pixels_and_standardises_their_features():
    from skimage.color import rgb2lab

    from fastnn.colorize import Colorizer

    images = [tiny_image(0, size=9), tiny_image(1, size=8)]
    model = Colorizer(patch_size=3, samples_per_image=70, dtype="float64", random_state=3)
    X, chroma = model.prepare(images)
    assert X.dtype == np.float64 and chroma.dtype == np.float64
    assert model.n_samples_ == len(X) == len(chroma) == 70 + 64  # all 64 pixels of the smaller image
    assert model.n_features_in_ == X.shape[1] == 9 + 50
    raw = X * model.feature_scale_ + model.feature_mean_
    np.testing.assert_allclose(model.feature_mean_, raw.mean(axis=0), atol=1e-12)
    np.testing.assert_allclose(model.feature_scale_, raw.std(axis=0), rtol=1e-9)
    np.testing.assert_allclose(model.chroma_mean_, chroma.mean(axis=0), rtol=1e-12)
    # every sample is one pixel of its image, each pixel at most once, with its own features
    for image, part, features in ((images[0], chroma[:70], raw[:70]), (images[1], chroma[70:], raw[70:])):
        lab = rgb2lab(image)
        found = [np.flatnonzero((np.abs(lab[..., 1:] - c).sum(axis=2) == 0).ravel()) for c in part]
        assert all(len(f) == 1 for f in found) and len({int(f[0]) for f in found}) == len(part)
        views = __import__("fastnn").colorize.features.feature_planes(lab[..., 0], 3)
        for (index,), row in zip(found[:5], features[:5]):
            i, j = divmod(int(index), image.shape[1])
            np.testing.assert_allclose(row, np.concatenate([v[i, j].ravel() for v in views]), atol=1e-9)


def test_constant_features_get_a_scale_of_1():
    from fastnn.colorize import Colorizer

    model = Colorizer(patch_size=3, samples_per_image=40, random_state=0)
    X, _ = model.prepare([flat_colour_image(8, 8, 0)])
    assert (model.feature_scale_ == 1.0).all() and (X == 0).all() and X.dtype == np.float32


@pytest.mark.parametrize("a, b, refused", [(0.9, -0.9, True), (1.5, -1.5, False), (1.5, 0.0, False), (0.0, 1.5, False)])
def test_an_image_counts_as_gray_up_to_a_chroma_of_1(a, b, refused):
    from skimage.color import lab2rgb

    from fastnn.colorize import GRAY_CHROMA, Colorizer

    assert GRAY_CHROMA == 1.0
    lab = np.dstack([np.linspace(20, 80, 64).reshape(8, 8), np.full((8, 8), a), np.full((8, 8), b)])
    model = Colorizer(patch_size=3, samples_per_image=10, random_state=0)
    if refused:
        with pytest.raises(ValueError, match=re.escape("images[0] holds only gray pixels (|a*|, |b*| <= 1.0)")):
            model.prepare([lab2rgb(lab)])
    else:
        assert model.prepare([lab2rgb(lab)])[0].shape == (10, 59)


def test_fit_samples_needs_prepare_and_its_width():
    from fastnn.colorize import Colorizer

    model = Colorizer(patch_size=3, samples_per_image=10, random_state=0)
    with pytest.raises(ValueError, match=re.escape("call prepare(images) before fit_samples(X, chroma)")):
        model.fit_samples(np.zeros((10, 59)), np.zeros((10, 2)))
    X, chroma = model.prepare([tiny_image(0)])
    for bad in (X[:, :-1], X[:, :, None][:, :1], X[:, :, None], X[0]):
        with pytest.raises(ValueError, match=re.escape(f"X must have shape (n_samples, 59) as prepare() returned, "
                                                       f"got {np.shape(bad)}")):
            model.fit_samples(bad, chroma)


class ScriptedNet:
    """A network whose outputs (the decoded error against zero chroma) follow a script, one per epoch."""

    def __init__(self, errors):
        self.errors, self.epoch = list(errors), 0
        self.weights, self.biases = [np.zeros(1)], [np.zeros(1)]

    def predict_proba(self, X):
        error = self.errors[self.epoch]
        self.epoch += 1
        self.weights, self.biases = [np.full(1, float(self.epoch))], [np.full(1, -float(self.epoch))]
        return np.full((len(X), 2), error)


@pytest.mark.parametrize("errors, patience, stops_at, best", [
    ([5.0, 3.0, 3.0, 4.0, 2.0], 2, 4, 2),  # a tie is no improvement: the first of the tied epochs is kept
    ([5.0, 3.0, 3.0, 4.0, 2.0], 3, None, 5),
    ([5.0, 6.0, 7.0], 1, 2, 1),
    ([5.0, 4.0, 3.0], 1, None, 3),
])
def test_early_stopping_keeps_the_first_best_epoch_and_waits_patience_epochs(errors, patience, stops_at, best):
    from fastnn.colorize.estimator import _EarlyStopping

    stopper = _EarlyStopping(np.zeros((3, 1)), np.zeros((3, 2)), patience, lambda outputs: outputs)
    net = ScriptedNet(errors)
    stopped = []
    while not any(stopped) and len(stopped) < len(errors):  # as fit: no epoch after a stop
        stopped.append(stopper.update(net))
    assert len(stopped) == (stops_at or len(errors)) and stopped[-1] == bool(stops_at)
    assert stopper.errors == errors[:len(stopped)] and stopper.best_epoch == best
    stopper.restore(net)
    assert net.weights[0][0] == best and net.biases[0][0] == -best


def test_early_stopping_holds_out_the_rounded_fraction():
    from fastnn.colorize import Colorizer

    model = Colorizer(patch_size=3, hidden_layer_sizes=(3,), epochs=2, samples_per_image=40, random_state=0,
                      validation_fraction=0.026, refine=None)  # 0.026 x 40 = 1.04: one held-out pixel
    model.fit([tiny_image(0)])
    assert len(model.validation_errors_) == 2 and model.network_.fit_params_["n_train"] == 39
    for fraction in (0.012, 0.99):  # 0.48 rounds to none, 39.6 to all 40
        with pytest.raises(ValueError, match=re.escape(f"validation_fraction {fraction} of 40 training pixels leaves "
                                                       "no validation or no training pixel")):
            model.set_params(validation_fraction=fraction).fit([tiny_image(0)])
    # counts above 256 are compared by value: 399.6 rounds to all 400 pixels
    with pytest.raises(ValueError, match=re.escape("validation_fraction 0.999 of 400 training pixels leaves")):
        model.set_params(validation_fraction=0.999, samples_per_image=400).fit([tiny_image(0, size=20)])


def test_set_params_repr_and_score():
    from fastnn.colorize import Colorizer
    from fastnn.colorize.evaluation import evaluate
    from fastnn.colorize.params import PARAMS

    model = Colorizer(patch_size=3, hidden_layer_sizes=(3,), epochs=1, samples_per_image=30, random_state=0)
    assert model.set_params(epochs=2, eta=0.5) is model and (model.epochs, model.eta) == (2, 0.5)
    with pytest.raises(ValueError, match=re.escape("invalid parameter 'epoch' for Colorizer; valid: ")):
        model.set_params(epoch=3)
    assert repr(model) == "Colorizer(" + ", ".join(f"{n}={getattr(model, n)!r}" for n in PARAMS) + ")"
    model.fit([tiny_image(0)])
    images = [tiny_image(4), tiny_image(5)]
    rows = evaluate(model, images)
    assert model.score(images) == pytest.approx(np.mean([r["psnr"] for r in rows if r["method"] == "fastnn"]))


# -- protocol.py -----------------------------------------------------------------------------

def test_split_halves_cuts_the_longer_side_around_the_band():
    from fastnn.colorize.protocol import split_halves

    image = np.arange(7 * 12).reshape(7, 12)
    left, right = split_halves(image, band=3)  # (12 - 3) // 2 = 4 columns, then 3 dropped, then 5
    np.testing.assert_array_equal(left, image[:, :4])
    np.testing.assert_array_equal(right, image[:, 7:])
    square = np.arange(36).reshape(6, 6)
    first, second = split_halves(square, band=0)  # a square is cut into left and right
    np.testing.assert_array_equal(first, square[:, :3])
    np.testing.assert_array_equal(second, square[:, 3:])
    top, bottom = split_halves(image.T, band=1)
    np.testing.assert_array_equal(top, image.T[:5])
    np.testing.assert_array_equal(bottom, image.T[6:])
    a, b = split_halves(np.zeros((3, 5)), band=3)  # two pixels left: one each
    assert a.shape == b.shape == (3, 1)
    for band in (4, -1):
        with pytest.raises(ValueError, match=re.escape(f"cannot split 5 pixels in two around a band of {band}")):
            split_halves(np.zeros((3, 5)), band=band)


def test_same_scene_cases_validate_on_the_part_of_the_training_half_nearer_the_test_half():
    from fastnn.colorize import protocol

    photo = np.arange(2 * 400).reshape(2, 400)
    cases = protocol.same_scene_cases({"p": photo})
    (name1, train1, (far1, near1), test1), (name2, train2, (far2, near2), test2) = cases
    assert (name1, name2) == ("p 1st -> 2nd half", "p 2nd -> 1st half")
    first, second = protocol.split_halves(photo)
    np.testing.assert_array_equal(train1, first)
    np.testing.assert_array_equal(test1, second)
    np.testing.assert_array_equal(train2, second)
    np.testing.assert_array_equal(test2, first)
    # the validating part is the one whose columns are nearer the test half
    assert near1.max() > far1.max() and near2.min() < far2.min()
    only_left = protocol.same_scene_cases({"motorcycle_left": photo})
    assert [c[0] for c in only_left] == ["motorcycle_left 1st -> 2nd half", "motorcycle_left 2nd -> 1st half"]
    pair = protocol.same_scene_cases({"motorcycle_right": photo, "motorcycle_left": photo + 1})
    name, train, (far, near), test = pair[0]
    assert name == "motorcycle_left -> motorcycle_right" and train is not test
    np.testing.assert_array_equal(train, photo + 1)
    np.testing.assert_array_equal(test, photo)
    np.testing.assert_array_equal(near, protocol.split_halves(photo + 1)[1])


def test_leave_one_out_holds_out_the_next_photo_cyclically():
    from fastnn.colorize import protocol

    photos = {name: np.full((2, 2), i) for i, name in enumerate("abcd")}
    cases = protocol.leave_one_out_cases(photos)
    for (name, train, (inner_train, inner_validation), test), following in zip(cases, ("bcda", "cdab", "dabc",
                                                                                        "abcd")):
        rest = [n for n in following if n != name]
        assert test is photos[name] and [int(t[0, 0]) for t in train] == ["abcd".index(n) for n in rest]
        assert inner_validation == [photos[rest[0]]]
        assert [int(t[0, 0]) for t in inner_train] == ["abcd".index(n) for n in rest[1:]]


def test_the_protocol_s_constants_are_those_its_revisions_describe():
    from fastnn.colorize import protocol

    assert protocol.SEAM_BAND == 65 and protocol.SAME_SCENE_TILES == 2
    assert protocol.GRID == {"lmbda": (1.0, 5.0, 25.0), "refine_radius": (1, 2, 4, 8),
                             "refine_eps": (0.0003, 0.001, 0.003, 0.01)}
    assert protocol.GRID_REVISION_2 == {"lmbda": (1.0, 5.0, 25.0), "refine_radius": (2, 4, 8),
                                        "refine_eps": (0.001, 0.003, 0.01)}
    assert protocol.GRID_REVISION_1 == protocol.LEAVE_ONE_OUT_GRID == {
        "lmbda": (1.0, 5.0, 25.0), "refine_radius": (8, 16, 32), "refine_eps": (0.003, 0.01, 0.03)}
    assert protocol.SAME_SCENE_BASE == {"texture_scales": (5, 11, 23), "context_scales": (4,), "n_networks": 5}
    assert protocol.SAME_SCENE_BASE_REVISION_3 == {"texture_scales": (5, 11, 23)}
    assert protocol.LEAVE_ONE_OUT_BASE == {"samples_per_image": 8000, "epochs": 5}


@pytest.mark.parametrize("wins, trials, p", [(0, 5, 2 / 32), (5, 5, 2 / 32), (1, 3, 1.0), (6, 10, 0.75390625)])
def test_sign_test_is_the_two_sided_binomial_p_value(wins, trials, p):
    from fastnn.colorize.protocol import sign_test

    assert sign_test(wins, trials) == pytest.approx(p, rel=1e-12)


def test_tile_errors_split_rows_and_columns_nearly_equally():
    from fastnn.colorize.protocol import tile_errors

    truth = np.zeros((7, 5, 2))
    chroma = np.arange(70, dtype=np.float64).reshape(7, 5, 2)
    error = chroma.mean(axis=2)
    # array_split: rows 3 + 2 + 2, columns 2 + 2 + 1
    expected = [error[r0:r1, c0:c1].mean() for r0, r1 in ((0, 3), (3, 5), (5, 7)) for c0, c1 in ((0, 2), (2, 4), (4, 5))]
    np.testing.assert_allclose(tile_errors(chroma, truth, 3), expected, rtol=1e-12)
    assert tile_errors(chroma[:, :3], truth[:, :3], 3).shape == (9,)  # as many tiles as columns
    with pytest.raises(ValueError, match=re.escape("tiles must be at most the image's height and width, got 4 for an "
                                                   "image of 7 x 3 pixels")):
        tile_errors(chroma[:, :3], truth[:, :3], 4)


class FakeColorizer:
    """Trains nothing: its raw chroma of the validation image is the truth plus 1 for lmbda 1, else b* twice."""

    truth = None

    def __init__(self, **params):
        self.params = params

    def fit(self, images):
        return self

    def predict_chroma(self, X):
        raise AssertionError("chroma_maps is faked")

    def chroma_maps(self, L, predictors):
        return {"net": self.truth + 1.0 if self.params["lmbda"] == 1.0 else self.truth[..., [1, 1]]}


@pytest.fixture
def fake_training(monkeypatch):
    from fastnn.colorize import protocol

    validation = tiny_image(6)
    monkeypatch.setattr(FakeColorizer, "truth", protocol._lab(validation)[..., 1:])
    monkeypatch.setattr(protocol, "Colorizer", FakeColorizer)
    return validation


def test_with_no_safe_refinement_off_keeps_the_training_of_the_lowest_unrefined_error(fake_training, monkeypatch):
    from fastnn.colorize import protocol

    def hurts_a_corner(L, raw, radius, eps):
        out = np.array(raw, dtype=np.float64)
        out[:3, :3] += 50.0 * radius
        return out

    monkeypatch.setattr(protocol, "refine_chroma", hurts_a_corner)
    grid = {"lmbda": (5.0, 1.0), "refine_radius": (2, 4), "refine_eps": (0.01,)}
    # lmbda 1: raw error 1 everywhere; lmbda 5: b* in both channels, an error of |a* - b*| / 2 (about 7)
    best, scores = protocol.tune({}, [tiny_image(0)], [fake_training], 0, grid, tiles=2, fallback="off")
    assert best == {"lmbda": 1.0, "refine": None} and len(scores) == 4


def test_a_refinement_that_changes_no_tile_is_safe(fake_training, monkeypatch):
    from fastnn.colorize import protocol

    def identity_or_corner(L, raw, radius, eps):
        out = np.array(raw, dtype=np.float64)
        if radius == 4:  # lower on average, higher in one corner
            out[4:] = FakeColorizer.truth[4:]
            out[:2, :2] += 5.0
        return out

    monkeypatch.setattr(protocol, "refine_chroma", identity_or_corner)
    grid = {"lmbda": (1.0,), "refine_radius": (2, 4), "refine_eps": (0.01,)}
    plain, _ = protocol.tune({}, [tiny_image(0)], [fake_training], 0, grid)
    assert plain["refine_radius"] == 4
    for fallback in ("off", "least-harm"):
        safe, _ = protocol.tune({}, [tiny_image(0)], [fake_training], 0, grid, tiles=2, fallback=fallback)
        assert safe == {"lmbda": 1.0, "refine_radius": 2, "refine_eps": 0.01}


def test_tune_scores_each_refinement_of_the_raw_chroma_guided_by_the_lightness(fake_training):
    from fastnn.colorize import protocol
    from fastnn.colorize.refine import refine_chroma

    lab = protocol._lab(fake_training)
    grid = {"lmbda": (1.0, 5.0), "refine_radius": (1, 3), "refine_eps": (0.001, 0.1)}
    best, scores = protocol.tune({}, [tiny_image(0)], [fake_training, fake_training], 0, grid)
    expected = []
    for lmbda in (1.0, 5.0):
        raw = FakeColorizer(lmbda=lmbda).chroma_maps(lab[..., 0], {})["net"]
        for radius in (1, 3):
            for eps in (0.001, 0.1):
                error = np.mean(np.abs(refine_chroma(lab[..., 0], raw, radius, eps) - lab[..., 1:]))
                expected.append(({"lmbda": lmbda, "refine_radius": radius, "refine_eps": eps}, error))
    assert [setting for setting, _ in scores] == [setting for setting, _ in expected]
    np.testing.assert_allclose([e for _, e in scores], [e for _, e in expected], rtol=1e-12)
    assert best == min(expected, key=lambda item: item[1])[0]


def test_run_case_reports_the_chroma_before_the_refinement_too():
    from skimage.color import lab2rgb

    from fastnn.colorize import Colorizer, protocol
    from fastnn.colorize.evaluation import evaluate

    base = {"patch_size": 3, "hidden_layer_sizes": (4,), "epochs": 1, "samples_per_image": 80, "refine_radius": 2}
    rng = np.random.default_rng(1)  # flat lightness on the left (a blotchiness that is a number), textured right
    L = np.hstack([np.full((16, 8), 60.0), rng.uniform(20, 80, (16, 8))])
    test = lab2rgb(np.dstack([L, rng.uniform(-25, 25, (16, 16, 2))]))
    result = protocol.run_case(base, tiny_image(0), None, test, seed=0, name="t", tuned=False)
    model = Colorizer(**base, random_state=0).fit([tiny_image(0)])
    rows = {row["method"]: row for row in evaluate(model, [test], unrefined=True)}
    for method in ("fastnn", "fastnn unrefined", "grayscale", "mean chroma"):
        assert result[method] == {key: rows[method][key] for key in ("ab_error", "psnr", "colourfulness", "blotchiness")}
    assert result["fastnn unrefined"] != result["fastnn"]
    assert result["true_colourfulness"] == rows["fastnn"]["true_colourfulness"]
    assert (result["case"], result["seed"], result["settings"]) == ("t", 0, {})


def test_the_defaults_are_the_documented_ones():
    from fastnn.colorize import Colorizer

    # chosen on the bundled photos (the class docstring and docs/guide/colorize.md give the reasons)
    assert Colorizer().get_params() == {
        "patch_size": 7, "hidden_layer_sizes": (32, 32), "epochs": 10, "mini_batch_size": 10, "eta": 1.5,
        "lmbda": 5.0, "cost": "cross-entropy", "dtype": "float32", "samples_per_image": 30000, "mode": "regression",
        "bin_size": 10, "temperature": 0.38, "refine": "guided", "refine_radius": 16, "refine_eps": 0.01,
        "validation_fraction": None, "n_iter_no_change": 3, "texture_scales": (), "context_scales": (4, 16),
        "n_networks": 1, "rebalance": None, "random_state": None}


def test_fit_shows_no_progress_bar_unless_asked(monkeypatch, capsys):
    from fastnn import _progress
    from fastnn.colorize import Colorizer

    monkeypatch.setattr(_progress, "progress_enabled", lambda progress, stream=None: bool(progress))
    model = Colorizer(patch_size=3, hidden_layer_sizes=(3,), epochs=1, samples_per_image=30, random_state=0)
    model.fit([tiny_image(0)])
    assert capsys.readouterr().err == ""
    model.fit([tiny_image(0)], progress=True)
    assert "30.0/30.0" in capsys.readouterr().err


def test_random_states_give_networks_of_different_seeds():
    from fastnn.colorize import Colorizer

    seeds = set()
    for random_state in range(30):
        model = Colorizer(patch_size=3, samples_per_image=5, random_state=random_state)
        model.prepare([tiny_image(0)])
        seeds.add(model._network_seeds[0])
    assert len(seeds) == 30  # drawn from 2**63 values: 30 random states, 30 networks


def test_a_refinement_that_lowers_every_tile_is_safe(fake_training, monkeypatch):
    from fastnn.colorize import protocol

    def halves_the_error_or_hurts_a_corner(L, raw, radius, eps):
        out = FakeColorizer.truth + 0.5 * (np.asarray(raw) - FakeColorizer.truth)
        if radius == 4:
            out[:2, :2] += 5.0
        return out

    monkeypatch.setattr(protocol, "refine_chroma", halves_the_error_or_hurts_a_corner)
    grid = {"lmbda": (1.0,), "refine_radius": (4, 2), "refine_eps": (0.01,)}
    safe, _ = protocol.tune({}, [tiny_image(0)], [fake_training], 0, grid, tiles=2, fallback="off")
    assert safe == {"lmbda": 1.0, "refine_radius": 2, "refine_eps": 0.01}


def test_fit_seconds_lie_within_the_call():
    from fastnn.colorize import Colorizer

    model = Colorizer(patch_size=3, hidden_layer_sizes=(3,), epochs=2, samples_per_image=30, random_state=0)
    model.fit([tiny_image(0)])  # compiled before timing
    start = time.perf_counter()
    model.fit([tiny_image(0)])
    assert 0 < model.fit_seconds_ <= time.perf_counter() - start
