"""The colorizer's coarse neighbourhoods (``context_scales``) and its averaged networks
(``n_networks``): features, training, prediction, file format version 4 and the CLI options."""
import json

import numpy as np
import pytest

from fastnn import ModelFileError, cli
from fastnn.colorize import Colorizer, feature_count
from fastnn.colorize.colour import from_outputs
from fastnn.colorize.features import CONTEXT, context_triples, feature_planes

from test_texture import reference_and_gray, smooth_and_textured

TINY = {"hidden_layer_sizes": (6,), "epochs": 2, "samples_per_image": 800, "patch_size": 3, "refine": None}


def test_context_scales_give_one_blurred_5x5_neighbourhood_each():
    L = np.random.default_rng(0).random((20, 23)) * 100
    default = feature_planes(L, 3)
    fine = feature_planes(L, 3, (), (4,))
    none = feature_planes(L, 3, (5,), ())
    assert context_triples((4, 16)) == CONTEXT == ((4, 5, 2.0), (16, 5, 8.0))
    assert [v.shape for v in default] == [(20, 23, 3, 3), (20, 23, 5, 5), (20, 23, 5, 5)]
    assert len(fine) == 2 and len(none) == 2 and none[1].shape == (20, 23, 1, 1)
    np.testing.assert_array_equal(fine[1], default[1])  # the same step-4 neighbourhood
    np.testing.assert_array_equal(none[0], default[0])
    assert feature_count(3, (), (4,)) == 9 + 25 and feature_count(3, (5,), ()) == 10
    assert feature_count(7, (5, 11, 23), (1, 4, 16)) == 49 + 75 + 3


def test_fewer_context_scales_make_a_narrower_network():
    model = Colorizer(**TINY, context_scales=(2,), random_state=0).fit([smooth_and_textured(0)])
    assert model.n_features_in_ == 9 + 25 and model.network_.sizes[0] == 34
    assert Colorizer(**TINY, context_scales=(), random_state=0).fit([smooth_and_textured(0)]).n_features_in_ == 9


def test_the_first_of_several_networks_is_the_single_network_of_the_same_random_state():
    train = [smooth_and_textured(0)]
    single = Colorizer(**TINY, random_state=4).fit(train)
    three = Colorizer(**TINY, n_networks=3, random_state=4).fit(train)
    assert len(three.networks_) == 3 and three.network_ is three.networks_[0]
    for w1, w3 in zip(single.network_.weights, three.network_.weights):
        np.testing.assert_array_equal(w1, w3)
    # the others start from other seeds: other weights
    assert not np.array_equal(three.networks_[1].weights[0], three.networks_[0].weights[0])
    assert not np.array_equal(three.networks_[2].weights[0], three.networks_[1].weights[0])
    assert three.best_epochs_ == [2, 2, 2] and three.best_epoch_ == 2


def test_the_prediction_is_the_mean_of_the_networks_chroma():
    model = Colorizer(**TINY, n_networks=3, random_state=1).fit([smooth_and_textured(0)])
    X = np.random.default_rng(2).standard_normal((50, model.n_features_in_)).astype(np.float32)
    each = [from_outputs(net.predict_proba(X)) for net in model.networks_]
    np.testing.assert_allclose(model.predict_chroma(X), (each[0] + each[1] + each[2]) / 3, rtol=0, atol=1e-12)
    assert model.predict_chroma(X).dtype == np.float64


def test_several_networks_are_deterministic_and_saved(tmp_path):
    train, test = smooth_and_textured(0), smooth_and_textured(1)
    params = dict(TINY, n_networks=2, context_scales=(2, 6), random_state=3)
    model = Colorizer(**params).fit([train])
    np.testing.assert_array_equal(model.predict(test), Colorizer(**params).fit([train]).predict(test))
    model.save(tmp_path / "m.npz")
    loaded = Colorizer.load(tmp_path / "m.npz")
    assert loaded.get_params() == model.get_params() and len(loaded.networks_) == 2
    np.testing.assert_array_equal(loaded.predict(test), model.predict(test))
    with np.load(tmp_path / "m.npz", allow_pickle=False) as npz:
        assert int(npz["format_version"]) == 5
        assert {key.split(".")[0] for key in npz.files if key.startswith("network")} == {"network", "network1"}


def saved_arrays(tmp_path, **params):
    model = Colorizer(**dict(TINY, random_state=0, **params)).fit([smooth_and_textured(0)])
    model.save(tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz", allow_pickle=False) as npz:
        return {key: npz[key] for key in npz.files}


def load(tmp_path, arrays):
    with open(tmp_path / "bad.npz", "wb") as f:
        np.savez(f, **arrays)
    return Colorizer.load(tmp_path / "bad.npz")


def test_a_missing_network_is_named(tmp_path):
    arrays = saved_arrays(tmp_path, n_networks=3)
    arrays = {key: value for key, value in arrays.items() if not key.startswith("network2.")}
    with pytest.raises(ModelFileError, match="network 2 of 3 is missing"):
        load(tmp_path, arrays)


def test_a_network_beyond_n_networks_is_refused(tmp_path):
    arrays = saved_arrays(tmp_path, n_networks=2)
    arrays.update({"network2." + key[len("network1."):]: value for key, value in arrays.items()
                   if key.startswith("network1.")})
    with pytest.raises(ModelFileError, match="unexpected entries"):
        load(tmp_path, arrays)


def test_a_network_of_other_sizes_is_refused(tmp_path):
    arrays = saved_arrays(tmp_path, n_networks=2)
    other = saved_arrays(tmp_path, n_networks=1, hidden_layer_sizes=(5,))
    for key in [k for k in arrays if k.startswith("network1.")]:
        del arrays[key]
    arrays.update({"network1." + key[len("network."):]: value for key, value in other.items()
                   if key.startswith("network.")})
    with pytest.raises(ModelFileError, match="network 1 .* does not match the colorizer's parameters"):
        load(tmp_path, arrays)


def test_a_version_3_file_loads_with_one_network_and_both_contexts(tmp_path):
    arrays = saved_arrays(tmp_path)
    test = smooth_and_textured(1)
    expected = Colorizer.load(tmp_path / "m.npz").predict(test)
    meta = json.loads(str(arrays["meta"]))
    for name in ("context_scales", "n_networks", "rebalance"):  # what format version 3 wrote
        del meta["params"][name]
    old = load(tmp_path, dict(arrays, meta=np.array(json.dumps(meta)), format_version=np.array(3)))
    assert old.get_params()["context_scales"] == (4, 16) and old.get_params()["n_networks"] == 1
    np.testing.assert_array_equal(old.predict(test), expected)


@pytest.mark.parametrize("name, value, error, match", [
    ("n_networks", 0, ValueError, "n_networks must be >= 1"), ("n_networks", 1.5, TypeError, "n_networks"),
    ("n_networks", True, TypeError, "n_networks"),
    ("context_scales", (0,), ValueError, "context_scales entries must be >= 1"),
    ("context_scales", (4, 4), ValueError, "must not repeat a step"),
    ("context_scales", "4", TypeError, "steps in pixels such as"),
    ("context_scales", (4.0,), TypeError, "must contain integers"),
    ("context_scales", None, TypeError, "context_scales")])
def test_bad_values_are_named(name, value, error, match):
    with pytest.raises(error, match=match):
        Colorizer(**TINY, **{name: value}).fit([smooth_and_textured(0)])


def test_many_distinct_scales_are_not_a_repeat():
    from fastnn.colorize.params import check_context_scales, check_texture_scales

    # lengths above 256 are distinct int objects in CPython: the check compares values
    assert check_context_scales(range(1, 301)) == tuple(range(1, 301))
    assert check_texture_scales(range(2, 302)) == tuple(range(2, 302))
    with pytest.raises(ValueError, match="must not repeat"):
        check_context_scales([*range(1, 300), 5])


@pytest.mark.filterwarnings("ignore::fastnn.DivergenceWarning")
def test_early_stopping_stops_each_network_on_its_own():
    model = Colorizer(**dict(TINY, epochs=8), eta=40.0, validation_fraction=0.25, n_iter_no_change=2,
                      n_networks=2, random_state=0).fit([smooth_and_textured(0)])
    assert len(model.best_epochs_) == 2 and model.best_epoch_ == model.best_epochs_[0]
    assert model.validation_errors_[model.best_epoch_ - 1] == min(model.validation_errors_)
    assert model.networks_[0].epochs_done_ == len(model.validation_errors_)
    # the errors kept are the first network's: those of the single network of the same random_state
    single = Colorizer(**dict(TINY, epochs=8), eta=40.0, validation_fraction=0.25, n_iter_no_change=2,
                       random_state=0).fit([smooth_and_textured(0)])
    assert model.validation_errors_ == single.validation_errors_ and model.best_epoch_ == single.best_epoch_
    assert not np.array_equal(model.networks_[1].weights[0], single.network_.weights[0])


@pytest.mark.filterwarnings("ignore::fastnn.DivergenceWarning")
def test_early_stopping_waits_a_patience_beyond_small_integers():
    # 300 epochs without a lower error: a count that CPython keeps as a new object each time
    model = Colorizer(**dict(TINY, epochs=320, samples_per_image=200), eta=60.0, validation_fraction=0.25,
                      n_iter_no_change=300, random_state=0).fit([smooth_and_textured(0)])
    assert len(model.validation_errors_) == model.best_epoch_ + 300 < 320


def test_more_than_256_features_are_taken():
    model = Colorizer(**dict(TINY, patch_size=17), random_state=0)
    X, chroma = model.prepare([smooth_and_textured(0)])
    assert X.shape[1] == 17 * 17 + 50 and model.fit_samples(X, chroma).network_.sizes[0] == 339


def test_one_progress_bar_counts_every_network_s_epochs(monkeypatch, capsys):
    from fastnn import _progress

    monkeypatch.setattr(_progress, "progress_enabled", lambda progress, stream=None: bool(progress))
    Colorizer(**dict(TINY, epochs=1, samples_per_image=30), n_networks=2, random_state=0).fit(
        [smooth_and_textured(0)], progress=True)
    assert "60.0/60.0" in capsys.readouterr().err


def test_cli_networks_and_context_scales(tmp_path, capsys):
    ref, gray = reference_and_gray(tmp_path)
    model = tmp_path / "m.npz"
    train = ["colorize", "train", str(ref), "--out", str(model), "--epochs", "1", "--hidden", "4",
             "--samples-per-image", "300", "--context-scales", "3", "--no-progress"]
    assert cli.main(train) == 0
    assert "300 pixels x 74 features, network [74, 4, 2]," in capsys.readouterr().out
    assert cli.main(train + ["--networks", "2"]) == 0
    assert "300 pixels x 74 features, 2 networks [74, 4, 2]," in capsys.readouterr().out
    loaded = Colorizer.load(model)
    assert loaded.get_params()["n_networks"] == 2 and loaded.get_params()["context_scales"] == (3,)
    out = tmp_path / "out.png"
    assert cli.main(["colorize", "apply", "--reference", str(ref), str(gray), str(out), "--epochs", "1",
                     "--hidden", "4", "--samples-per-image", "300", "--networks", "2", "--context-scales", "",
                     "--no-progress"]) == 0
    assert out.exists()


def test_the_bins_mode_is_recognised_by_its_value_not_by_identity():
    literal = "bins"
    mode = "".join(["bi", "ns"])  # equal to the literal, but another object
    assert mode == literal and mode is not literal
    model = Colorizer(**TINY, mode=mode, n_networks=2, random_state=0).fit([smooth_and_textured(0)])
    assert model.network_.sizes[-1] > 2  # one output per bin
    X = np.zeros((4, model.n_features_in_), dtype=np.float32)
    assert model.predict_chroma(X).shape == (4, 2)
