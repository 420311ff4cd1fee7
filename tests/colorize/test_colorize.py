"""fastnn.colorize and its commands, on tiny generated images (no files from outside the test).

The scenes: one half has stripes of lightness and is red, the other is smooth and blue, so
the colour follows the texture of L*, which the patch features see.

Tolerances: the L* of a prediction equals the input's within L_TOL (L* runs 0..100), and within
L_TOL_BELOW_WHITE where L* <= 99.9 (near white, scikit-image's own Lab -> RGB -> Lab round trip of
gray is off by up to 3e-4); a uint8 file written by ``colorize apply`` within UINT8_L_TOL
(rounding to 1/255).
"""
import io
import json

import numpy as np
import pytest
from PIL import Image
from skimage.color import lab2rgb, rgb2lab
from skimage.metrics import peak_signal_noise_ratio

from fastnn import ModelFileError, Network, cli, colorize
from fastnn.colorize import Colorizer, evaluate, lab_to_rgb

L_TOL = 5e-4
L_TOL_BELOW_WHITE = 1e-5
UINT8_L_TOL = 0.6
SMALL = {"hidden_layer_sizes": (16,), "epochs": 4, "samples_per_image": 400, "refine_radius": 4, "random_state": 0}
# refine_radius 4: the default window (33 x 33) is wider than these tiny scenes
RED, BLUE = (40.0, 20.0), (-10.0, -35.0)


def scene(height, width, seed, stripes_left=True):
    """Float RGB: a striped red half and a smooth (slightly noisy) blue half."""
    rng = np.random.default_rng(seed)
    cols = np.arange(width)[None, :].repeat(height, axis=0)
    striped = (cols < width // 2) if stripes_left else (cols >= width // 2)
    L = 70 + rng.standard_normal((height, width))
    L[striped] = np.where((cols[striped] // 2) % 2 == 0, 30.0, 60.0)
    ab = np.empty((height, width, 2))
    ab[striped], ab[~striped] = RED, BLUE
    return lab2rgb(np.dstack([L, ab]))


TRAIN = [scene(24, 32, 0), scene(30, 20, 1, stripes_left=False)]
TEST = [scene(21, 27, 2, stripes_left=False)]


@pytest.fixture(scope="module")
def fitted():
    return Colorizer(**SMALL).fit(TRAIN)


def lightness(rgb):
    return rgb2lab(rgb)[..., 0]


def save_png(path, rgb):
    Image.fromarray(np.rint(np.asarray(rgb) * 255).astype(np.uint8)).save(path)
    return str(path)


def save_gray_test_photo(path):
    """The first test photo's lightness as an 8-bit grayscale PNG at ``path`` (returned)."""
    Image.fromarray(np.rint(lightness(TEST[0]) / 100 * 255).astype(np.uint8)).save(path)
    return path


# -- learning and prediction ----------------------------------------------------------------

def test_learns_the_colour_of_the_texture(fitted):
    rows = evaluate(fitted, TEST, names=["test"])
    by = {row["method"]: row for row in rows}
    assert set(by) == {"fastnn", "grayscale", "mean chroma"}
    for baseline in ("grayscale", "mean chroma"):
        assert by["fastnn"]["psnr"] > by[baseline]["psnr"] + 5
        assert by["fastnn"]["ab_error"] < by[baseline]["ab_error"] / 2
    # the grayscale row, computed independently: L* kept, a* = b* = 0
    lab = rgb2lab(TEST[0])
    gray = lab2rgb(np.dstack([lab[..., 0], np.zeros(lab.shape[:2] + (2,))]))
    assert by["grayscale"]["psnr"] == pytest.approx(peak_signal_noise_ratio(TEST[0], gray, data_range=1))
    assert by["grayscale"]["ab_error"] == pytest.approx(np.mean(np.abs(lab[..., 1:])), abs=1e-3)
    assert fitted.score(TEST) == pytest.approx(by["fastnn"]["psnr"])


def test_fitted_attributes(fitted):
    assert fitted.n_features_in_ == colorize.feature_count(7) == 99
    assert fitted.network_.sizes == [99, 16, 2] and fitted.network_.dtype == np.float32
    assert fitted.n_samples_ == 800 and fitted.network_.epochs_done_ == 4
    assert fitted.feature_mean_.shape == fitted.feature_scale_.shape == (99,)
    # the mean chroma lies between the two colours of the scenes
    assert RED[0] > fitted.chroma_mean_[0] > BLUE[0] and RED[1] > fitted.chroma_mean_[1] > BLUE[1]


def test_float64_colorizer_is_float64_end_to_end(tmp_path, monkeypatch):
    model = Colorizer(**dict(SMALL, dtype="float64")).fit(TRAIN)
    assert model.network_.dtype == np.float64
    seen = []
    predict_proba = model.network_.predict_proba
    monkeypatch.setattr(model.network_, "predict_proba", lambda X: seen.append(X.dtype) or predict_proba(X))
    rows = {row["method"]: row for row in evaluate(model, TEST)}
    assert seen == [np.float64] and rows["fastnn"]["ab_error"] < rows["mean chroma"]["ab_error"] / 2
    model.save(tmp_path / "m.npz")
    assert Colorizer.load(tmp_path / "m.npz").network_.dtype == np.float64


@pytest.mark.parametrize("shape", [(7, 7), (7, 30), (33, 9), (40, 41)])
def test_predict_keeps_lightness_at_any_size(fitted, shape):
    rgb = scene(*shape, seed=5)
    gray = lightness(rgb) / 100  # a float gray image
    for image in (rgb, gray, np.rint(gray * 255).astype(np.uint8)):
        out = fitted.predict(image)
        assert out.shape == shape + (3,) and out.dtype == np.float64
        assert out.min() >= 0 and out.max() <= 1
        expected = lightness(image) if image.ndim == 3 else lightness(np.dstack([image / (255 if image.dtype == np.uint8 else 1)] * 3))
        assert np.abs(lightness(out) - expected).max() <= L_TOL


def test_rgb_input_uses_its_lightness(fitted):
    rgb = TEST[0]
    lab = rgb2lab(rgb)
    gray = lab2rgb(np.dstack([lab[..., 0], np.zeros(lab.shape[:2] + (2,))]))[..., 0]
    np.testing.assert_allclose(fitted.predict(rgb), fitted.predict(gray), atol=1e-4)


def test_prediction_in_batches_equals_one_batch(fitted, monkeypatch):
    image = scene(40, 41, seed=3)
    whole = fitted.predict(image)
    monkeypatch.setattr(colorize.features, "PREDICT_BATCH", 50)  # one row (41 pixels) per batch
    # float32 outputs may differ in the last bit with the rows computed together
    np.testing.assert_allclose(fitted.predict(image), whole, atol=1e-6)


def test_lab_to_rgb_keeps_lightness_and_hue():
    rng = np.random.default_rng(0)
    L = rng.uniform(0, 100, (200, 200))
    L[0, :4] = 0.0, 100.0, 99.999, 99.95
    ab = rng.uniform(-127, 127, (200, 200, 2))
    rgb = lab_to_rgb(L, ab)
    assert rgb.min() >= 0 and rgb.max() <= 1
    out = rgb2lab(rgb)
    assert np.abs(out[..., 0] - L).max() <= L_TOL
    assert np.abs(out[..., 0] - L)[L <= 99.9].max() <= L_TOL_BELOW_WHITE
    chroma_in, chroma_out = np.hypot(*np.moveaxis(ab, -1, 0)), np.hypot(*np.moveaxis(out[..., 1:], -1, 0))
    assert np.all(chroma_out <= chroma_in + 1e-3)
    visible = chroma_out > 1
    hue_in = np.arctan2(ab[..., 1], ab[..., 0])[visible]
    hue_out = np.arctan2(out[..., 2], out[..., 1])[visible]
    assert np.abs(np.angle(np.exp(1j * (hue_out - hue_in)))).max() < 1e-3
    # colours inside the gamut are untouched
    small = rng.uniform(-5, 5, (200, 200, 2))
    mid = rng.uniform(30, 70, (200, 200))
    np.testing.assert_allclose(lab_to_rgb(mid, small), lab2rgb(np.dstack([mid, small])), atol=1e-12)


def test_real_valued_targets_train_like_the_reference():
    """Network.fit takes (n, 2) real targets in (0, 1); the jit engine matches the NumPy reference."""
    rng = np.random.default_rng(0)
    X, Y = rng.random((300, 6)), rng.uniform(0.2, 0.8, (300, 2))
    nets = [Network([6, 5, 2], seed=1, engine=e, cost="cross-entropy") for e in ("jit", "reference")]
    for net in nets:
        net.fit(X, Y, epochs=1, mini_batch_size=7, eta=0.5)
    for a, b in zip(nets[0].weights + nets[0].biases, nets[1].weights + nets[1].biases):
        np.testing.assert_allclose(a, b, atol=1e-9)


def test_progress_bar_shows_samples_and_cost(monkeypatch, capsys):
    from fastnn import _progress

    monkeypatch.setattr(_progress, "progress_enabled", lambda progress, stream=None: bool(progress))
    Colorizer(**dict(SMALL, epochs=2)).fit(TRAIN, progress=True)
    err = capsys.readouterr().err
    assert "1.60k/1.60k" in err and "cost=" in err  # 2 epochs x 800 samples


def test_failed_fit_keeps_the_previous_fit(files):
    model = Colorizer(**SMALL).fit(TRAIN)
    before = model.predict(TEST[0])
    with pytest.raises(ValueError, match="truncated"):
        model.fit([TRAIN[0], files["truncated_png"]])
    np.testing.assert_array_equal(model.predict(TEST[0]), before)


# -- determinism and files ----------------------------------------------------------------

def test_same_random_state_same_colorizer(fitted):
    again = Colorizer(**SMALL).fit(TRAIN)
    for a, b in zip(fitted.network_.weights, again.network_.weights):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(fitted.predict(TEST[0]), again.predict(TEST[0]))
    other = Colorizer(**dict(SMALL, random_state=1)).fit(TRAIN)
    assert not np.array_equal(other.network_.weights[0], fitted.network_.weights[0])
    assert not np.array_equal(other.feature_mean_, fitted.feature_mean_)  # other pixels drawn


def test_save_load_round_trip(fitted, tmp_path):
    path = tmp_path / "model.npz"
    fitted.save(path)
    loaded = Colorizer.load(path)
    assert loaded.get_params() == fitted.get_params()
    np.testing.assert_array_equal(loaded.predict(TEST[0]), fitted.predict(TEST[0]))
    np.testing.assert_array_equal(loaded.chroma_mean_, fitted.chroma_mean_)
    assert loaded.network_.sizes == fitted.network_.sizes and loaded.network_.dtype == np.float32
    with np.load(path, allow_pickle=False) as npz:  # no pickled entry anywhere
        assert str(npz["format"]) == "fastnn.Colorizer"
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]  # no temporary file left


def _rewrite_meta(src, dst, change):
    with np.load(src, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    meta = json.loads(str(arrays["meta"]))
    change(meta)
    arrays["meta"] = np.array(json.dumps(meta))
    np.savez(dst, **arrays)


def test_load_rejects_bad_files(fitted, tmp_path):
    good = tmp_path / "good.npz"
    fitted.save(good)
    with pytest.raises(FileNotFoundError):
        Colorizer.load(tmp_path / "missing.npz")
    network_file = tmp_path / "net.npz"
    fitted.network_.save(network_file)
    with pytest.raises(ModelFileError, match="expected 'fastnn.Colorizer'"):
        Colorizer.load(network_file)
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(ModelFileError, match="truncated"):
        Colorizer.load(truncated)
    text = tmp_path / "text.npz"
    text.write_text("not a model")
    with pytest.raises(ModelFileError, match="not a fastnn model file"):
        Colorizer.load(text)
    tampered = tmp_path / "tampered.npz"
    _rewrite_meta(good, tampered, lambda m: m["params"].update(patch_size=5))
    with pytest.raises(ModelFileError, match="does not match"):
        Colorizer.load(tampered)
    _rewrite_meta(good, tampered, lambda m: m["params"].update(patch_size=4))
    with pytest.raises(ModelFileError, match="patch_size must be odd"):
        Colorizer.load(tampered)
    _rewrite_meta(good, tampered, lambda m: m.update(chroma_mean=[1.0, float("nan")]))
    with pytest.raises(ModelFileError, match="chroma_mean"):
        Colorizer.load(tampered)


def test_unfitted_colorizer(tmp_path):
    with pytest.raises(ValueError, match="not fitted"):
        Colorizer().predict(TEST[0])
    with pytest.raises(ValueError, match="not fitted"):
        Colorizer().save(tmp_path / "model.npz")
    assert not list(tmp_path.iterdir())


# -- bad input ------------------------------------------------------------------------------

@pytest.fixture
def files(tmp_path):
    """Image files: good, not an image, truncated PNG/JPEG, grayscale, tiny, RGB but gray."""
    paths = {"good": save_png(tmp_path / "good.png", TRAIN[0])}
    (tmp_path / "notes.png").write_text("this is text, not a picture")
    paths["not_image"] = str(tmp_path / "notes.png")
    data = (tmp_path / "good.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    paths["truncated_png"] = str(tmp_path / "cut.png")
    Image.fromarray(np.rint(TRAIN[0] * 255).astype(np.uint8)).save(tmp_path / "full.jpg", quality=90)
    jpeg = (tmp_path / "full.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(jpeg[: len(jpeg) // 2])
    paths["truncated_jpeg"] = str(tmp_path / "cut.jpg")
    Image.fromarray(np.full((20, 20), 128, np.uint8)).save(tmp_path / "gray.png")
    paths["gray"] = str(tmp_path / "gray.png")
    paths["tiny"] = save_png(tmp_path / "tiny.png", TRAIN[0][:5, :5])
    paths["rgb_gray"] = save_png(tmp_path / "rgb_gray.png", np.dstack([lightness(TRAIN[0]) / 100] * 3))
    return paths


@pytest.mark.parametrize("kind, error, message", [
    ("not_image", ValueError, "is not an image file"),
    ("truncated_png", ValueError, "truncated or corrupted"),
    ("truncated_jpeg", ValueError, "truncated or corrupted"),
    ("gray", ValueError, "grayscale image: no colour to learn"),
    ("rgb_gray", ValueError, "only gray pixels"),
    ("tiny", ValueError, r"5 x 5 pixels, smaller than the 7 x 7 patch"),
])
def test_fit_refuses_bad_files_naming_them(files, kind, error, message):
    with pytest.raises(error, match=message) as info:
        Colorizer(**SMALL).fit([files["good"], files[kind]])
    assert files[kind] in str(info.value)


@pytest.mark.parametrize("limit", [500, 100])  # 768 pixels: Pillow warns above 500, refuses above 2 x 100
def test_decompression_bomb_guard(files, monkeypatch, limit):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", limit)
    with pytest.raises(ValueError, match="too large to decode safely") as info:
        Colorizer(**SMALL).fit([files["good"]])
    assert files["good"] in str(info.value)
    with pytest.raises(ValueError, match="too large"):
        colorize.read_image(files["good"])


def test_missing_file_and_folder(tmp_path, files):
    with pytest.raises(FileNotFoundError, match="nope.png"):
        Colorizer(**SMALL).fit([files["good"], str(tmp_path / "nope.png")])
    with pytest.raises(ValueError, match="is a folder"):
        colorize.read_image(tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match="holds no image file"):
        colorize.image_files([empty])
    assert colorize.image_files([tmp_path]) == sorted(str(tmp_path / n) for n in
                                                       ("cut.jpg", "cut.png", "full.jpg", "good.png",
                                                        "gray.png", "notes.png", "rgb_gray.png", "tiny.png"))


def _with_nan():
    image = TRAIN[0].copy()
    image[3, 4, 1] = np.nan
    return image


@pytest.mark.parametrize("images, error, message", [
    ([], ValueError, "images is empty"),
    (TRAIN[0], TypeError, "must be a list of images"),
    ("photo.png", TypeError, "must be a list of images"),
    ([TRAIN[0], _with_nan()], ValueError, r"images\[1\] contains NaN"),
    ([TRAIN[0], lightness(TRAIN[0]) / 100], ValueError, r"images\[1\] is a grayscale image"),
    ([TRAIN[0], TRAIN[0][:6]], ValueError, r"images\[1\] is 6 x 32 pixels, smaller than the 7 x 7 patch"),
    ([TRAIN[0] * 255], ValueError, r"images\[0\] is a float image with values in \[36.9565, 242.795\]; expected \[0, 1\]"),
    ([TRAIN[0].astype(complex)], TypeError, r"images\[0\] has dtype complex128"),
    ([np.dstack([TRAIN[0], TRAIN[0][..., :1]])], ValueError, r"images\[0\] has shape \(24, 32, 4\).*alpha"),
    ([TRAIN[0][..., 0, None]], ValueError, r"images\[0\] has shape"),
])
def test_fit_refuses_bad_arrays(images, error, message):
    with pytest.raises(error, match=message):
        Colorizer(**SMALL).fit(images)


@pytest.mark.parametrize("params, error, message", [
    ({"patch_size": 6}, ValueError, "patch_size must be odd"),
    ({"patch_size": 0}, ValueError, "patch_size must be >= 1"),
    ({"hidden_layer_sizes": (16, 0)}, ValueError, "hidden_layer_sizes entries must be >= 1"),
    ({"hidden_layer_sizes": "16"}, TypeError, "hidden_layer_sizes must be a tuple"),
    ({"cost": "hinge"}, ValueError, "cost must be one of"),
    ({"dtype": "float16"}, TypeError, "dtype must be"),
    ({"eta": -1.0}, ValueError, "eta must be > 0"),
    ({"epochs": 0}, ValueError, "epochs must be >= 1"),
    ({"random_state": 1.5}, TypeError, "random_state must be an integer"),
])
def test_bad_parameters_are_refused_at_fit(params, error, message):
    with pytest.raises(error, match=message):
        Colorizer(**dict(SMALL, **params)).fit(TRAIN)


def test_predict_refuses_bad_images(fitted, files):
    with pytest.raises(ValueError, match=r"gray is 6 x 6 pixels, smaller than the 7 x 7 patch"):
        fitted.predict(np.zeros((6, 6)))
    with pytest.raises(ValueError, match="gray contains NaN"):
        fitted.predict(np.full((9, 9), np.nan))
    with pytest.raises(ValueError, match="truncated"):
        fitted.predict(files["truncated_png"])
    out = fitted.predict(files["gray"])  # a grayscale file is what predict is for
    assert out.shape == (20, 20, 3)


# -- baselines ----------------------------------------------------------------------------

def test_compare_trains_every_baseline_on_the_same_samples():
    result = colorize.compare(TRAIN, TEST, Colorizer(**SMALL), names=["t"], mlp=True)
    methods = [row["method"] for row in result["rows"]]
    assert methods == ["fastnn", "grayscale", "mean chroma", "LinearRegression", "MLPRegressor"]
    assert set(result["seconds"]) == {"fastnn", "LinearRegression", "MLPRegressor"}
    assert result["samples"] == 800 and result["features"] == 99
    # the linear baseline is least squares on the colorizer's own standardised samples
    model = Colorizer(**SMALL)
    X, chroma = model.prepare(TRAIN)
    predictors, _ = colorize.fit_baselines(model, X, chroma, mlp=False)
    A = np.column_stack([X.astype(np.float64), np.ones(len(X))])
    coef = np.linalg.lstsq(A, chroma, rcond=None)[0]
    np.testing.assert_allclose(predictors["LinearRegression"](X), A @ coef, atol=1e-6)
    table = colorize.format_table(result["rows"])
    assert table.splitlines()[0] == ("| photo | fastnn | grayscale | mean chroma | LinearRegression "
                                     "| MLPRegressor |")
    assert len(table.splitlines()) == 4  # header, rule, photo, mean


def test_bundled_photos_load_offline():
    photos = colorize.bundled_photos()
    assert set(colorize.TRAIN_PHOTOS) | set(colorize.TEST_PHOTOS) == set(photos)
    assert not set(colorize.TRAIN_PHOTOS) & set(colorize.TEST_PHOTOS)
    for image in photos.values():
        assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3


# -- command line ---------------------------------------------------------------------------

def test_cli_train_and_apply(tmp_path, capsys):
    folder = tmp_path / "photos"
    folder.mkdir()
    for i, image in enumerate(TRAIN):
        save_png(folder / f"scene{i}.png", image)
    model = tmp_path / "model.npz"
    args = ["colorize", "train", str(folder), "--out", str(model), "--epochs", "2", "--hidden", "8",
            "--samples-per-image", "300", "--no-progress"]
    assert cli.main(args) == 0
    assert "Saved colorizer" in capsys.readouterr().out
    gray = save_gray_test_photo(tmp_path / "gray.png")
    for name in ("out.png", "out.jpg"):
        assert cli.main(["colorize", "apply", str(model), str(gray), str(tmp_path / name)]) == 0
        assert f"Wrote {tmp_path / name} (27 x 21 pixels)" in capsys.readouterr().out  # width x height
        with Image.open(tmp_path / name) as image:
            assert image.mode == "RGB" and image.size == (27, 21)
            out = np.asarray(image) / 255
        if name.endswith(".png"):  # lossless: L* kept up to uint8 rounding
            expected = lightness(np.dstack([np.asarray(Image.open(gray)) / 255] * 3))
            assert np.abs(lightness(out) - expected).max() <= UINT8_L_TOL


def test_cli_bad_input_writes_nothing(tmp_path, files, capsys):
    model = tmp_path / "model.npz"
    train = ["colorize", "train", files["good"], files["truncated_jpeg"], "--out", str(model), "--epochs", "1",
             "--samples-per-image", "100", "--no-progress"]
    assert cli.main(train) == 2
    err = capsys.readouterr().err
    assert "fastnn colorize train: error:" in err and files["truncated_jpeg"] in err
    assert not model.exists()
    assert cli.main(["colorize", "train", files["good"], "--out", str(tmp_path / "no" / "m.npz")]) == 2
    assert "does not exist" in capsys.readouterr().err
    bad_model = tmp_path / "bad.npz"
    bad_model.write_text("junk")
    out = tmp_path / "out.png"
    assert cli.main(["colorize", "apply", str(bad_model), files["good"], str(out)]) == 2
    assert "not a fastnn model file" in capsys.readouterr().err and not out.exists()
    assert cli.main(["colorize", "apply", str(bad_model), files["good"], str(tmp_path / "out.xyz")]) == 2
    assert "unknown image type" in capsys.readouterr().err
    missing = tmp_path / "missing.npz"  # named by the check of the inputs, before any work
    assert cli.main(["colorize", "apply", str(missing), files["good"], str(out)]) == 2
    assert f"model '{missing}': no such file" in capsys.readouterr().err and not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix in (".npz", ".xyz")) == ["bad.npz"]


REFERENCE_OPTIONS = ["--epochs", "2", "--hidden", "8", "--samples-per-image", "300", "--no-progress"]


def test_cli_apply_with_references_trains_and_colours(tmp_path, capsys):
    refs = [save_png(tmp_path / f"ref{i}.png", image) for i, image in enumerate(TRAIN)]
    gray = save_gray_test_photo(tmp_path / "gray.png")
    out = tmp_path / "out.png"
    args = ["colorize", "apply", "--reference", refs[0], "--reference", refs[1], str(gray), str(out)]
    assert cli.main(args + REFERENCE_OPTIONS) == 0
    assert "Training on 2 reference photo(s)" in capsys.readouterr().out
    # the same colorizer as fit + predict through the API (the same seed, the same files)
    model = Colorizer(hidden_layer_sizes=(8,), epochs=2, samples_per_image=300, random_state=0).fit(refs)
    with Image.open(out) as image:
        written = np.asarray(image)
    expected = np.clip(np.rint(model.predict(str(gray)) * 255), 0, 255).astype(np.uint8)
    np.testing.assert_array_equal(written, expected)


def test_cli_apply_refuses_a_small_input_before_training_and_colorize_needs_an_action(tmp_path, files, capsys):
    out = tmp_path / "out.png"
    narrow = save_png(tmp_path / "narrow.png", TRAIN[0][:, :5])  # tall enough, too narrow
    for small in (files["tiny"], narrow):
        args = ["colorize", "apply", "--reference", files["good"], small, str(out)]
        assert cli.main(args + REFERENCE_OPTIONS) == 2
        printed, err = capsys.readouterr()
        assert "smaller than the 7 x 7 patch" in err and "Training on" not in printed and not out.exists()
    exact = save_png(tmp_path / "exact.png", TRAIN[0][:7, :7])  # one patch: large enough
    assert cli.main(["colorize", "apply", "--reference", files["good"], exact, str(out)] + REFERENCE_OPTIONS) == 0
    assert "Wrote" in capsys.readouterr().out and out.exists()
    with pytest.raises(SystemExit) as exc:
        cli.main(["colorize"])
    assert exc.value.code == 2
    assert "the following arguments are required: action" in capsys.readouterr().err


def test_cli_refine_none_colours_without_the_refinement(tmp_path, capsys):
    ref = save_png(tmp_path / "ref.png", TRAIN[0])
    gray = save_gray_test_photo(tmp_path / "gray.png")
    written = {}
    for refine in ("none", "guided"):
        out = tmp_path / f"{refine}.png"
        # a string made at run time, as the command line's are (not the interned literal)
        args = ["colorize", "apply", "--reference", ref, str(gray), str(out), "--refine", "".join(refine)]
        assert cli.main(args + REFERENCE_OPTIONS) == 0
        with Image.open(out) as image:
            written[refine] = np.asarray(image)
    capsys.readouterr()
    for refine, api in (("none", None), ("guided", "guided")):
        model = Colorizer(hidden_layer_sizes=(8,), epochs=2, samples_per_image=300, refine=api,
                          random_state=0).fit([ref])
        expected = np.clip(np.rint(model.predict(str(gray)) * 255), 0, 255).astype(np.uint8)
        np.testing.assert_array_equal(written[refine], expected)
    assert not np.array_equal(written["none"], written["guided"])


def test_cli_apply_with_references_writes_nothing_on_bad_input(tmp_path, files, capsys):
    out = tmp_path / "out.png"
    base = ["colorize", "apply"]
    cases = [  # (arguments, what the message says)
        (["--reference", files["good"], "--reference", files["truncated_png"], files["good"], str(out)],
         "truncated or corrupted"),
        (["--reference", files["gray"], files["good"], str(out)], "no colour to learn"),
        (["--reference", files["good"], files["not_image"], str(out)], "is not an image file"),
        (["--reference", files["good"], files["tiny"], str(out)], "smaller than the 7 x 7 patch"),
        (["--reference", files["good"], str(tmp_path / "missing.png"), str(out)], "no such file"),
        (["--reference", files["good"], files["good"], files["good"], str(out)], "not both"),
        ([files["good"], str(out)], "or --reference photos"),
    ]
    for args, message in cases:
        assert cli.main(base + args + REFERENCE_OPTIONS) == 2, args
        err = capsys.readouterr().err
        assert "fastnn colorize apply: error:" in err and message in err, (args, err)
        assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith((".out", "out"))]  # no temporary file


def test_cli_apply_with_references_shows_progress_unless_told_not_to(tmp_path, monkeypatch, capsys):
    from fastnn import _progress

    monkeypatch.setattr(_progress, "progress_enabled", lambda progress, stream=None: bool(progress))
    ref = save_png(tmp_path / "ref.png", TRAIN[0])
    gray = save_gray_test_photo(tmp_path / "gray.png")
    options = [option for option in REFERENCE_OPTIONS if option != "--no-progress"]
    for extra, shown in (([], True), (["--no-progress"], False)):
        args = ["colorize", "apply", "--reference", ref, str(gray), str(tmp_path / "out.png"), *options, *extra]
        assert cli.main(args) == 0
        assert ("cost=" in capsys.readouterr().err) is shown, extra
        args = ["colorize", "train", ref, "--out", str(tmp_path / "model.npz"), *options, *extra]
        assert cli.main(args) == 0
        assert ("cost=" in capsys.readouterr().err) is shown, ("train", extra)


def _pillow_bytes(pixels, fmt, **options):
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format=fmt, **options)
    return buffer.getvalue()


@pytest.mark.parametrize("fmt, options", [("PNG", {}), ("JPEG", {"quality": 95}), ("WEBP", {}), ("AVIF", {})])
def test_write_image_rounds_clips_and_gives_jpeg_quality_95_only(tmp_path, fmt, options):
    from PIL import features

    from fastnn.cli.colorize import write_image

    if fmt in ("WEBP", "AVIF") and not features.check(fmt.lower()):
        pytest.skip(f"this Pillow cannot write {fmt}")
    rgb = np.random.default_rng(1).uniform(-0.2, 1.2, (21, 27, 3))  # outside [0, 1] too
    rgb[0, 0], rgb[0, 1] = 0.0, 1.0
    pixels = np.clip(np.rint(rgb * 255), 0, 255).astype(np.uint8)
    assert pixels.min() == 0 and pixels.max() == 255
    path = tmp_path / f"out.{fmt.lower()}"
    write_image(rgb, path, fmt)
    # the bytes Pillow writes for these pixels: at quality 95 for JPEG, with its defaults otherwise
    assert path.read_bytes() == _pillow_bytes(pixels, fmt, **options)
    if fmt == "PNG":
        with Image.open(path) as image:
            np.testing.assert_array_equal(np.asarray(image), pixels)
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]  # no temporary file left


def test_cli_interrupted_training_exits_130_and_writes_nothing(tmp_path, monkeypatch, capsys):
    # Ctrl-C while the colorizer trains: the shell's 130 (128 + SIGINT), no model, no image
    def interrupted(self, *args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(Colorizer, "fit", interrupted)
    ref = save_png(tmp_path / "ref.png", TRAIN[0])
    model, out = tmp_path / "model.npz", tmp_path / "out.png"
    assert cli.main(["colorize", "train", ref, "--out", str(model), *REFERENCE_OPTIONS]) == 130
    assert "Interrupted: nothing written" in capsys.readouterr().err
    assert cli.main(["colorize", "apply", "--reference", ref, ref, str(out), *REFERENCE_OPTIONS]) == 130
    assert "Interrupted: nothing written" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ref.png"]


def test_cli_apply_checks_the_model_before_the_image_and_train_requires_out(tmp_path, capsys):
    missing_model, missing_image = tmp_path / "m.npz", tmp_path / "g.png"
    args = ["colorize", "apply", str(missing_model), str(missing_image), str(tmp_path / "out.png")]
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    assert f"model '{missing_model}': no such file" in err and str(missing_image) not in err
    with pytest.raises(SystemExit) as exc:  # argparse's usage error, before anything is read
        cli.main(["colorize", "train", save_png(tmp_path / "ref.png", TRAIN[0])])
    assert exc.value.code == 2
    assert "the following arguments are required: --out" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ref.png"]


@pytest.mark.slow
def test_demo_colorize_on_the_bundled_photos(tmp_path, capsys):
    picture = tmp_path / "demo.png"
    args = ["demo", "colorize", "--out", str(picture), "--epochs", "1", "--hidden", "8",
            "--samples-per-image", "300", "--no-progress"]
    assert cli.main(args) == 0
    out = capsys.readouterr().out
    assert out.index("Same scene: training on motorcycle_left only") < out.index("Across scenes")
    for photo in colorize.TEST_PHOTOS + ("motorcycle_right",):
        assert f"| {photo} |" in out
    assert "| photo | fastnn | grayscale | mean chroma | LinearRegression | MLPRegressor | fastnn unrefined |" in out
    assert "blotchiness" in out
    assert "MLPRegressor" in out and "x fastnn's time" in out
    with Image.open(picture) as image:
        assert image.format == "PNG" and image.size[0] > 300
    assert cli.main(["demo", "colorize", "--out", str(tmp_path / "demo.xyz")]) == 2
    assert "matplotlib cannot write '.xyz'" in capsys.readouterr().err


# -- metrics -------------------------------------------------------------------------------

def test_colourfulness_is_the_mean_chroma_magnitude():
    chroma = np.zeros((4, 5, 2))
    assert colorize.colourfulness(chroma) == 0.0
    chroma[0, 0] = (6.0, 8.0)
    assert colorize.colourfulness(chroma) == pytest.approx(10.0 / 20)


def test_blotchiness_counts_colour_noise_where_lightness_is_flat_only():
    rng = np.random.default_rng(0)
    L = np.full((40, 40), 50.0)
    L[:, 20:] += 30.0 * (np.arange(20) % 2)  # striped right half: not flat
    smooth = np.ones((40, 40, 2)) * (10.0, -5.0)
    assert colorize.blotchiness(L, smooth) == pytest.approx(0.0, abs=1e-9)
    noisy_flat, noisy_striped = smooth.copy(), smooth.copy()
    noisy_flat[:, :15] += rng.normal(0, 5, (40, 15, 2))
    noisy_striped[:, 25:] += rng.normal(0, 5, (40, 15, 2))
    assert colorize.blotchiness(L, noisy_flat) > 2.0
    assert colorize.blotchiness(L, noisy_striped) < 0.1 * colorize.blotchiness(L, noisy_flat)
    assert np.isnan(colorize.blotchiness(30.0 * (np.indices((9, 9)).sum(0) % 2), np.zeros((9, 9, 2))))


def test_evaluate_reports_every_metric_and_the_unrefined_chroma(fitted):
    rows = evaluate(fitted, TEST, unrefined=True)
    by = {row["method"]: row for row in rows}
    assert list(by) == ["fastnn", "grayscale", "mean chroma", "fastnn unrefined"]
    for row in rows:
        assert {"psnr", "ab_error", "colourfulness", "blotchiness", "true_colourfulness"} <= set(row)
    assert by["grayscale"]["colourfulness"] < 0.5  # gray stays gray (up to the colour conversions)
    lab = rgb2lab(TEST[0])
    assert by["fastnn"]["true_colourfulness"] == pytest.approx(colorize.colourfulness(lab[..., 1:]))
    table = colorize.format_table(rows, metrics=("colourfulness", "blotchiness"))
    assert table.splitlines()[0] == "| photo | fastnn | grayscale | mean chroma | fastnn unrefined |"
    with pytest.raises(ValueError, match="metrics must be some of"):
        colorize.format_table(rows, metrics=("sharpness",))
