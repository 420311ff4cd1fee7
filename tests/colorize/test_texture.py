"""Texture features of the colorizer (``texture_scales``): the local std of L*, its checks, its file
format (version 3; older files load without texture) and the CLI option."""
import json

import numpy as np
import pytest
from PIL import Image
from skimage.color import lab2rgb

from fastnn import cli
from fastnn.colorize import FORMAT_VERSION, Colorizer, feature_count
from fastnn.colorize.features import feature_planes, local_std
from fastnn.colorize.images import lightness
from fastnn.colorize.protocol import SAME_SCENE_BASE, run_case

TINY = {"hidden_layer_sizes": (8,), "epochs": 3, "samples_per_image": 1500, "patch_size": 1, "refine": None}


def smooth_and_textured(seed, size=48):
    """Left half smooth (L* 50, red), right half textured (L* 50 +- 20 at random, blue).

    The mean lightness is the same on both sides: only the texture tells them apart.
    """
    rng = np.random.default_rng(seed)
    L = np.full((size, size), 50.0)
    L[:, size // 2:] += rng.choice([-20.0, 20.0], (size, size - size // 2))
    ab = np.zeros((size, size, 2))
    ab[:, :size // 2] = (30.0, 20.0)
    ab[:, size // 2:] = (10.0, -35.0)
    return (lab2rgb(np.dstack([L, ab])) * 255).round().astype(np.uint8)


def reference_and_gray(tmp_path):
    """PNG files of a colour reference (:func:`smooth_and_textured` seed 0) and of the grayscale of
    another such image (seed 1)."""
    ref = tmp_path / "ref.png"
    Image.fromarray(smooth_and_textured(0)).save(ref)
    gray = tmp_path / "gray.png"
    Image.fromarray(np.rint(lightness(smooth_and_textured(1)) / 100 * 255).astype(np.uint8)).save(gray)
    return ref, gray


def ab_error(model, image):
    from skimage.color import rgb2lab

    return float(np.mean(np.abs(rgb2lab(model.predict(image))[..., 1:] - rgb2lab(image / 255.0)[..., 1:])))


def test_local_std_is_the_window_std_with_mirrored_borders():
    plane = np.random.default_rng(0).random((9, 11))
    padded = np.pad(plane, 2, mode="symmetric")
    brute = np.array([[padded[i:i + 5, j:j + 5].std() for j in range(11)] for i in range(9)])
    np.testing.assert_allclose(local_std(plane, 5), brute, rtol=0, atol=1e-12)
    assert local_std(np.full((6, 6), 0.3), 3).max() == pytest.approx(0.0, abs=1e-7)


def test_feature_planes_append_one_texture_feature_per_scale():
    L = np.random.default_rng(1).random((12, 13)) * 100
    views = feature_planes(L, 3, (3, 5))
    assert len(views) == 5 and views[3].shape == views[4].shape == (12, 13, 1, 1)
    np.testing.assert_allclose(views[4][..., 0, 0], local_std(L / 100.0, 5))
    assert feature_count(7, (5, 11, 23)) == feature_count(7) + 3 == 102


def test_texture_tells_regions_of_the_same_lightness_apart():
    train, test = smooth_and_textured(0), smooth_and_textured(1)
    plain = Colorizer(**TINY, random_state=0).fit([train])
    textured = Colorizer(**TINY, texture_scales=(3, 5), random_state=0).fit([train])
    assert textured.n_features_in_ == plain.n_features_in_ + 2
    assert textured.network_.sizes[0] == feature_count(1, (3, 5))
    # without texture the two halves look alike (L* 50 on average, blurred context equal); with it
    # they differ (the error left is near the seam, where the windows see both halves)
    assert ab_error(textured, test) < 0.75 * ab_error(plain, test)  # 0.55-0.62 for seeds 0-2


def test_texture_is_deterministic_and_saved(tmp_path):
    train, test = smooth_and_textured(0), smooth_and_textured(1)
    model = Colorizer(**TINY, texture_scales=(5,), random_state=3).fit([train])
    again = Colorizer(**TINY, texture_scales=(5,), random_state=3).fit([train])
    np.testing.assert_array_equal(model.predict(test), again.predict(test))
    model.save(tmp_path / "m.npz")
    loaded = Colorizer.load(tmp_path / "m.npz")
    assert loaded.get_params()["texture_scales"] == (5,) and loaded.params_["texture_scales"] == (5,)
    np.testing.assert_array_equal(loaded.predict(test), model.predict(test))
    with np.load(tmp_path / "m.npz", allow_pickle=False) as npz:
        assert int(npz["format_version"]) == FORMAT_VERSION == 5


def test_version_2_file_loads_without_texture(tmp_path):
    train, test = smooth_and_textured(0), smooth_and_textured(1)
    model = Colorizer(**TINY, random_state=0).fit([train])
    model.save(tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz", allow_pickle=False) as npz:
        arrays = {key: npz[key] for key in npz.files}
    meta = json.loads(str(arrays["meta"]))
    for name in ("texture_scales", "context_scales", "n_networks", "rebalance"):  # what format version 2 wrote
        del meta["params"][name]
    arrays["meta"], arrays["format_version"] = np.array(json.dumps(meta)), np.array(2, dtype=np.int64)
    with open(tmp_path / "v2.npz", "wb") as f:
        np.savez(f, **arrays)
    old = Colorizer.load(tmp_path / "v2.npz")
    assert old.get_params()["texture_scales"] == ()
    np.testing.assert_array_equal(old.predict(test), model.predict(test))
    arrays["format_version"] = np.array(3, dtype=np.int64)  # version 3 must name texture_scales
    with open(tmp_path / "v3.npz", "wb") as f:
        np.savez(f, **arrays)
    with pytest.raises(ValueError, match="does not describe a colorizer"):
        Colorizer.load(tmp_path / "v3.npz")


@pytest.mark.parametrize("value, error, match", [
    ((1,), ValueError, ">= 2"), ((5, 5), ValueError, "repeat"), ("5", TypeError, "texture_scales"),
    ((5.0,), TypeError, "integers"), (None, TypeError, "texture_scales")])
def test_bad_texture_scales_are_named(value, error, match):
    with pytest.raises(error, match=match):
        Colorizer(**TINY, texture_scales=value).fit([smooth_and_textured(0)])


def test_same_scene_protocol_uses_texture():
    assert SAME_SCENE_BASE["texture_scales"] == (5, 11, 23)
    result = run_case(dict(TINY, texture_scales=(3,), refine="guided"), smooth_and_textured(0), None,
                      smooth_and_textured(1), seed=0, name="t", tuned=False)
    assert result["fastnn"]["ab_error"] < result["mean chroma"]["ab_error"]


def test_cli_texture_scales(tmp_path):
    ref, gray = reference_and_gray(tmp_path)
    model = tmp_path / "m.npz"
    args = ["colorize", "train", str(ref), "--out", str(model), "--epochs", "1", "--hidden", "4",
            "--samples-per-image", "300", "--texture-scales", "3,7", "--no-progress"]
    assert cli.main(args) == 0
    assert Colorizer.load(model).get_params()["texture_scales"] == (3, 7)
    assert cli.main(["colorize", "apply", str(model), str(gray), str(tmp_path / "out.png")]) == 0
    assert (tmp_path / "out.png").exists()
