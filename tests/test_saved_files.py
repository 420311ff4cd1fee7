"""Files written by an earlier fastnn still load and predict the same.

``tests/data/colorizer_v1.npz`` was written by ``Colorizer.save`` before fastnn.colorize became a
subpackage (format version 1), with ``colorizer_v1_expected.npy`` its prediction of
``colorizer_v1_probe.npy``.  Tolerance: the same float32 network and the same colour conversions
run on the same inputs, so on the CPU that wrote the file the prediction is bit-identical.  On
another CPU the network's float32 sums are vectorised over other widths and register blocks (16
float32 lanes and 4-row blocks with AVX-512, 8 lanes and 2-row blocks with AVX2), so they round
differently, by a few float32 units (6e-8 relative) per sum: the expected values (written on an
AMD Zen 5 with AVX-512) were 2.0e-7 away on an AMD Zen 3 with AVX2.  The test allows 2e-6 in
[0, 1] RGB, ten times that, still a thousandth of one 8-bit level; a parameter read wrongly
moves the colours by far more.
"""
from pathlib import Path

import numpy as np

from fastnn.colorize import FORMAT_VERSION, Colorizer

DATA = Path(__file__).resolve().parent / "data"


def test_colorizer_file_of_format_version_1_loads_and_predicts_the_same():
    model = Colorizer.load(DATA / "colorizer_v1.npz")
    assert model.get_params()["patch_size"] == 3
    assert model.network_.sizes == [59, 4, 2]  # 3 x 3 patch + two 5 x 5 context grids
    probe = np.load(DATA / "colorizer_v1_probe.npy")
    expected = np.load(DATA / "colorizer_v1_expected.npy")
    np.testing.assert_allclose(model.predict(probe), expected, rtol=0, atol=2e-6)


def test_reloaded_version_1_file_saves_back_identically(tmp_path):
    model = Colorizer.load(DATA / "colorizer_v1.npz")
    model.save(tmp_path / "again.npz")
    again = Colorizer.load(tmp_path / "again.npz")
    with np.load(tmp_path / "again.npz", allow_pickle=False) as npz:
        assert int(npz["format_version"]) == FORMAT_VERSION  # written in the current format
    # a version-1 file predates lmbda and the refinement: loaded with the values that reproduce it
    for params in (model.get_params(), again.get_params()):
        assert params["lmbda"] == 0.0 and params["refine"] is None and params["texture_scales"] == ()
    for name in ("feature_mean_", "feature_scale_", "chroma_mean_"):
        np.testing.assert_array_equal(getattr(again, name), getattr(model, name))
    for w, w2 in zip(model.network_.weights, again.network_.weights):
        np.testing.assert_array_equal(w, w2)
