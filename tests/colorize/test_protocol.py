"""The evaluation protocol's splits, inner tuning and sign test (fastnn.colorize.protocol), on tiny images."""
import numpy as np
import pytest
from skimage.color import lab2rgb

from fastnn.colorize import protocol

TINY = {"hidden_layer_sizes": (4,), "epochs": 1, "samples_per_image": 200}
GRID = {"lmbda": (0.0, 5.0), "refine_radius": (2, 4), "refine_eps": (0.01,)}


def photo(height, width, seed):
    rng = np.random.default_rng(seed)
    L = 50 + 20 * rng.random((height, width))
    ab = np.broadcast_to((20.0, -10.0), (height, width, 2)) + rng.normal(0, 3, (height, width, 2))
    return (lab2rgb(np.dstack([L, ab])) * 255).round().astype(np.uint8)


def test_halves_leave_the_seam_band_out():
    image = np.arange(300 * 3).reshape(3, 300)[..., None]
    first, second = protocol.split_halves(image)
    assert first.shape[1] + second.shape[1] + protocol.SEAM_BAND == 300
    assert second[0, 0, 0] - first[0, -1, 0] == protocol.SEAM_BAND + 1  # columns in between dropped
    top, bottom = protocol.split_halves(np.zeros((200, 50)), band=10)  # taller than wide: rows
    assert top.shape == (95, 50) and bottom.shape == (95, 50)
    with pytest.raises(ValueError, match="cannot split"):
        protocol.split_halves(np.zeros((10, 60)))


def test_cases_cover_every_photo_and_never_test_on_training_pixels():
    photos = {name: photo(12, 300 + 10 * i, i) for i, name in
              enumerate(["motorcycle_left", "motorcycle_right", "cat"])}
    same = protocol.same_scene_cases(photos)
    assert [c[0] for c in same] == ["motorcycle_left -> motorcycle_right", "motorcycle_right -> motorcycle_left"] + [
        f"{n} {d}" for n in photos for d in ("1st -> 2nd half", "2nd -> 1st half")]
    for name, train, (inner_train, inner_validation), test in same[2:]:
        assert not np.shares_memory(train, test)
        assert np.shares_memory(inner_train, train) and np.shares_memory(inner_validation, train)
        assert not np.shares_memory(inner_train, inner_validation)
    loo = protocol.leave_one_out_cases(photos)
    assert [c[0] for c in loo] == list(photos)
    for name, train, (inner_train, inner_validation), test in loo:
        assert len(train) == 2 and all(image is not test for image in train)
        assert len(inner_validation) == 1 and all(image is not inner_validation[0] for image in inner_train)
        assert any(image is inner_validation[0] for image in train)


def test_tune_scores_every_setting_and_picks_the_lowest():
    best, scores = protocol.tune(TINY, [photo(24, 30, 0)], [photo(24, 30, 1)], seed=0, grid=GRID)
    assert len(scores) == 4 and best == min(scores, key=lambda s: s[1])[0]
    assert {s["lmbda"] for s, _ in scores} == {0.0, 5.0}


def test_run_case_reports_every_method():
    result = protocol.run_case(TINY, [photo(24, 30, 0)], ([photo(24, 14, 2)], [photo(24, 14, 3)]),
                               photo(24, 30, 1), seed=0, name="tiny", grid=GRID)
    assert set(result["settings"]) == {"lmbda", "refine_radius", "refine_eps"}
    for method in ("fastnn", "fastnn unrefined", "grayscale", "mean chroma"):
        assert set(result[method]) == {"ab_error", "psnr", "colourfulness", "blotchiness"}
    untuned = protocol.run_case(TINY, photo(24, 30, 0), None, photo(24, 30, 1), seed=0, name="t", tuned=False)
    assert untuned["settings"] == {}


def test_sign_test():
    assert protocol.sign_test(8, 8) == pytest.approx(2 / 2 ** 8)
    assert protocol.sign_test(4, 8) == pytest.approx(1.0)
    assert np.isnan(protocol.sign_test(0, 0))


def test_tile_errors_average_each_tile():
    truth = np.zeros((5, 6, 2))
    chroma = truth.copy()
    chroma[:3, :3] = 4.0  # array_split: rows 3 + 2, columns 3 + 3
    chroma[4, 5, 0] = 12.0
    assert protocol.tile_errors(chroma, truth, 2).tolist() == [4.0, 0.0, 0.0, pytest.approx(1.0)]
    assert protocol.tile_errors(chroma, truth, 1)[0] == pytest.approx(np.abs(chroma).mean())
    with pytest.raises(ValueError, match="tiles must be at most"):
        protocol.tile_errors(chroma, truth, 6)
    with pytest.raises(ValueError, match="tiles must be >= 1"):
        protocol.tile_errors(chroma, truth, 0)
    with pytest.raises(TypeError, match="tiles must be an integer"):
        protocol.tile_errors(chroma, truth, 2.0)


def test_tune_with_tiles_keeps_only_settings_that_hurt_no_tile(monkeypatch):
    # A fake refinement: radius 2 lowers the error everywhere a little, radius 4 lowers it a lot on
    # average but raises it in one corner, so the safe rule must pick radius 2, the plain rule 4.
    def fake_refine(L, raw, radius, eps):
        truth = np.asarray(photo_lab[..., 1:])
        out = truth + 0.9 * (raw - truth) if radius == 2 else truth + 0.1 * (raw - truth)
        if radius == 4:
            out[:4, :4] += 50.0
        return out

    validation = photo(24, 30, 1)
    photo_lab = protocol._lab(validation)
    monkeypatch.setattr(protocol, "refine_chroma", fake_refine)
    grid = {"lmbda": (5.0,), "refine_radius": (2, 4), "refine_eps": (0.01,)}
    plain, scores = protocol.tune(TINY, [photo(24, 30, 0)], [validation], seed=0, grid=grid)
    safe, safe_scores = protocol.tune(TINY, [photo(24, 30, 0)], [validation], seed=0, grid=grid, tiles=2)
    assert plain["refine_radius"] == 4 and safe["refine_radius"] == 2
    assert safe_scores == scores  # the scores are the same; only the choice differs
    with pytest.raises(ValueError, match="tiles must be >= 1"):
        protocol.tune(TINY, [photo(24, 30, 0)], [validation], seed=0, grid=grid, tiles=0)


def test_tune_with_tiles_falls_back_to_the_smallest_worst_increase(monkeypatch):
    def fake_refine(L, raw, radius, eps):
        out = np.array(raw, dtype=np.float64)
        out[:4, :4] += 1.0 if radius == 2 else 3.0  # both hurt one tile; radius 2 less
        out[12:] = truth[12:] if radius == 4 else out[12:]  # radius 4 is better on average (bottom tiles)
        return out

    validation = photo(24, 30, 1)
    truth = protocol._lab(validation)[..., 1:]
    monkeypatch.setattr(protocol, "refine_chroma", fake_refine)
    grid = {"lmbda": (5.0,), "refine_radius": (2, 4), "refine_eps": (0.01,)}
    plain, _ = protocol.tune(TINY, [photo(24, 30, 0)], [validation], seed=0, grid=grid)
    safe, _ = protocol.tune(TINY, [photo(24, 30, 0)], [validation], seed=0, grid=grid, tiles=2)
    assert plain["refine_radius"] == 4 and safe["refine_radius"] == 2
    off, _ = protocol.tune(TINY, [photo(24, 30, 0)], [validation], seed=0, grid=grid, tiles=2, fallback="off")
    assert off == {"lmbda": 5.0, "refine": None}
    with pytest.raises(ValueError, match="fallback"):
        protocol.tune(TINY, [photo(24, 30, 0)], [validation], seed=0, grid=grid, tiles=2, fallback="weakest")


def test_run_case_with_the_refinement_off_reports_it_as_unrefined_too(monkeypatch):
    monkeypatch.setattr(protocol, "refine_chroma", lambda L, raw, radius, eps: np.asarray(raw) + 30.0)
    result = protocol.run_case(TINY, [photo(24, 30, 0)], ([photo(24, 14, 2)], [photo(24, 14, 3)]),
                               photo(24, 30, 1), seed=0, name="tiny", grid=GRID, tiles=2, fallback="off")
    assert result["settings"]["refine"] is None and result["settings"]["lmbda"] in (0.0, 5.0)
    assert result["fastnn unrefined"] == result["fastnn"]


def test_confirmation_photos_are_colour_photos_outside_the_bundled_ones():
    from fastnn.colorize import bundled_photos

    photos = protocol.confirmation_photos()
    assert tuple(photos) == protocol.CONFIRMATION_PHOTOS
    bundled = bundled_photos()
    assert not set(photos) & set(bundled)
    for name, image in photos.items():
        assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3, name
        assert np.ptp(image.astype(int)[..., 0] - image[..., 2]) > 0, f"{name} is grey"
        assert all(image.shape != other.shape or not np.array_equal(image, other) for other in bundled.values())
    cases = protocol.same_scene_cases(photos)  # the stereo pair is not among them: halves only
    assert [c[0] for c in cases] == [f"{n} {d}" for n in photos for d in ("1st -> 2nd half", "2nd -> 1st half")]


def evaluation_tool():
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))
    import colorize_eval

    return colorize_eval


def test_the_evaluation_tool_runs_the_same_scene_cases_of_the_photos_asked_for(monkeypatch):
    colorize_eval = evaluation_tool()
    sets = {"bundled": {"cat": photo(12, 300, 0)}, "confirmation": {"dog": photo(12, 300, 1)}}
    monkeypatch.setattr(colorize_eval, "PHOTOS", {name: (lambda p=p: p) for name, p in sets.items()})
    monkeypatch.setattr(protocol, "run_case", lambda base, train, split, test, seed, name, **kw: {
        "case": name, "seed": seed, "fastnn": {"ab_error": 1.0}, "grayscale": {"ab_error": 2.0},
        "mean chroma": {"ab_error": 3.0}, "settings": {}})
    for photo_set, name in (("bundled", "cat"), ("confirmation", "dog")):
        results = colorize_eval.run("same-scene", [0], None, False, False, photo_set=photo_set)
        assert [r["case"] for r in results] == [f"{name} 1st -> 2nd half", f"{name} 2nd -> 1st half"]
        assert {r["photos"] for r in results} == {photo_set}


def test_the_evaluation_tool_refuses_confirmation_photos_across_scenes(capsys):
    colorize_eval = evaluation_tool()
    with pytest.raises(SystemExit) as stop:
        colorize_eval.main(["leave-one-out", "--photos", "confirmation"])
    assert stop.value.code == 2
    assert "--photos confirmation is for same-scene" in capsys.readouterr().err
    assert colorize_eval.PHOTOS["confirmation"] is protocol.confirmation_photos
