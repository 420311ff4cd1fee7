"""Colour for grayscale photos: the book's sigmoid network as a colorizer.

A :class:`Colorizer` learns, from colour photos, to predict a pixel's chroma
from the lightness around it.  Colours are handled in CIE L*a*b*
(scikit-image's ``rgb2lab``/``lab2rgb``): L* is the lightness a grayscale
photo keeps, a* (green-red) and b* (blue-yellow) are the chroma the network
predicts.  The result keeps the input's L* exactly and adds the predicted
a*, b*, by default smoothed by a guided filter guided by L* (``refine``).

Features (all from L*, none from the pixel's position):

* the ``patch_size`` x ``patch_size`` neighbourhood of the pixel;
* coarser neighbourhoods of the blurred image (``context_scales``, by
  default two): 5 x 5 samples 4 pixels apart (a 17 x 17 area, blur sigma 2)
  and 5 x 5 samples 16 pixels apart (65 x 65, sigma 8), which tell sky from
  wall from foliage better than the small patch alone;
* optionally texture: the local standard deviation of L* (``texture_scales``).

``n_networks`` networks may be trained from different seeds; the colorizer
then predicts the mean of their chroma.

Image borders are mirrored, so every pixel of an image at least
``patch_size`` wide and high gets a full feature vector.  Features are
standardised with the training set's mean and standard deviation.  The
network's two sigmoid outputs are ``0.5 + a*/128`` and ``0.5 + b*/128``
(chroma beyond +-64 is clipped when training: under 1% of the pixels of the
bundled photos).

The package's modules, each importable on its own; every public name is also
importable from ``fastnn.colorize``:

* ``images``: :func:`read_image` and :func:`image_files`
  (Pillow, with its decompression-bomb guard), and the checks every image passes;
* ``features``: :func:`feature_count` and the feature rows of pixels;
* ``colour``: :func:`lab_to_rgb` (keeps L* exactly by reducing
  out-of-gamut chroma) and the network's targets;
* ``estimator``: :class:`Colorizer`, with its parameters'
  checks in ``params`` and its file format in
  ``fileformat``;
* ``refine``: :func:`guided_filter`, the edge-aware refinement of the
  predicted chroma (``Colorizer(refine="guided")``, the default);
* ``evaluation``: :func:`evaluate`, :func:`format_table` and the metrics
  :func:`colourfulness` and :func:`blotchiness`;
* ``baselines``: :func:`fit_baselines` and :func:`compare`;
* ``photos``: :func:`bundled_photos`, :data:`TRAIN_PHOTOS`,
  :data:`TEST_PHOTOS`.

The command line (``fastnn colorize``, ``fastnn demo colorize``) is ``fastnn.cli.colorize``.
"""
from .baselines import compare, fit_baselines
from .colour import CHROMA_RANGE, GAMUT_STEPS, GAMUT_TOL, lab_to_rgb
from .estimator import GRAY_CHROMA, Colorizer
from .evaluation import blotchiness, colourfulness, evaluate, format_table
from .features import CONTEXT, PREDICT_BATCH, feature_count
from .fileformat import FORMAT_NAME, FORMAT_VERSION
from .images import IMAGE_EXTENSIONS, image_files, read_image
from . import photos as _photos
from .photos import bundled_photos
from .refine import guided_filter

TRAIN_PHOTOS = _photos.TRAIN_PHOTOS
"""Bundled photos the demo trains on."""

TEST_PHOTOS = _photos.TEST_PHOTOS
"""Bundled photos the demo keeps out of training (see docs/guide/colorize.md for the others)."""

__all__ = ["Colorizer", "read_image", "image_files", "lab_to_rgb", "feature_count", "fit_baselines",
           "evaluate", "compare", "format_table", "bundled_photos", "TRAIN_PHOTOS", "TEST_PHOTOS",
           "guided_filter", "colourfulness", "blotchiness"]
# also importable from here, as before the package was split: the constants CHROMA_RANGE,
# CONTEXT, GRAY_CHROMA, PREDICT_BATCH, GAMUT_TOL, GAMUT_STEPS, IMAGE_EXTENSIONS, FORMAT_NAME,
# FORMAT_VERSION (set them in their own modules: fastnn.colorize.features.PREDICT_BATCH, ...)
