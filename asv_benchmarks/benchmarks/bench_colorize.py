"""asv: the colorizer's training throughput (patches/s), whole-image prediction time and the
refinement's guided filter at two image sizes (its time should grow with the pixel count, 16x
from 256 x 256 to 1024 x 1024, and not with the radius).

Training runs on patches of scikit-image's bundled ``astronaut`` photo (no
download), prepared in ``setup``, so only the network's training is timed.
Prediction colours a 512 x 512 grayscale image: features, batched inference
and the gamut mapping.  Every ``setup`` warms the jit kernels up first, so
timings never include compilation.
"""
import time

from fastnn.colorize import Colorizer
from fastnn.colorize.refine import refine_chroma

N_SAMPLES = 20_000
HIDDEN = {"32-32": (32, 32), "64-64": (64, 64)}


def _photo():
    from skimage import data

    return data.astronaut()


class ColorizerTraining:
    """One epoch over N_SAMPLES patches (7 x 7 + context, 99 features) of the default network."""

    params = (list(HIDDEN), [10, 100], ["float32", "float64"])
    param_names = ["hidden", "mini_batch_size", "dtype"]
    timeout = 300

    def setup(self, hidden, mini_batch_size, dtype):
        self.model = Colorizer(hidden_layer_sizes=HIDDEN[hidden], epochs=1, mini_batch_size=mini_batch_size,
                               dtype=dtype, samples_per_image=N_SAMPLES, random_state=0)
        self.X, self.chroma = self.model.prepare([_photo()])
        self.model.fit_samples(self.X[:200], self.chroma[:200])  # compile / load the kernels

    def time_epoch(self, hidden, mini_batch_size, dtype):
        self.model.fit_samples(self.X, self.chroma)

    def track_patches_per_second(self, hidden, mini_batch_size, dtype):
        start = time.perf_counter()
        self.model.fit_samples(self.X, self.chroma)
        return len(self.X) / (time.perf_counter() - start)

    track_patches_per_second.unit = "patches/s"


class ColorizerPredict:
    """Colour a 512 x 512 grayscale image with the default colorizer (trained briefly in setup)."""

    params = (["float32", "float64"],)
    param_names = ["dtype"]
    timeout = 300

    def setup(self, dtype):
        photo = _photo()
        self.model = Colorizer(epochs=1, samples_per_image=2000, dtype=dtype, random_state=0).fit([photo])
        self.gray = photo.mean(axis=2) / 255.0
        assert self.gray.shape == (512, 512)
        self.model.predict(self.gray[:16, :16])

    def time_predict_512(self, dtype):
        self.model.predict(self.gray)

    def peakmem_predict_512(self, dtype):
        self.model.predict(self.gray)


class GuidedFilter:
    """The guided filter of two chroma planes guided by the lightness (``refine="guided"``)."""

    params = ([256, 1024], [4, 32])
    param_names = ["side", "radius"]

    def setup(self, side, radius):
        import numpy as np

        rng = np.random.default_rng(0)
        self.L = rng.uniform(0.0, 100.0, (side, side))
        self.chroma = rng.normal(0.0, 20.0, (side, side, 2))

    def time_guided_filter(self, side, radius):
        refine_chroma(self.L, self.chroma, radius, 0.01)
