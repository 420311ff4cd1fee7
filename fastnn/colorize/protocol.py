"""The colorizer's evaluation protocol, fixed before its results were seen.

Two questions, each answered against the two constant baselines separately (``grayscale``:
a* = b* = 0; ``mean chroma``: the training pixels' mean a*, b*), by the mean absolute a*b* error
of :func:`~fastnn.colorize.evaluate`:

1. **Same scene** (:func:`same_scene_cases`): the stereo pair both ways (train on one view of
   ``stereo_motorcycle``, colour the other), and every bundled photo split in two halves along
   its longer side, trained on one half and colouring the other, both ways.  A band of
   :data:`SEAM_BAND` pixels at the seam belongs to neither half, so no test pixel lies within
   the 65 x 65 context of a training pixel.
2. **Leave one out** (:func:`leave_one_out_cases`): train on every bundled photo but one, colour
   that one; every photo in turn, with several seeds.  Per photo, the seeds' mean error is
   compared with each baseline; :func:`sign_test` gives the two-sided p-value of the wins.

**Settings are tuned inside the training data only** (:func:`tune`): the training data is split
into an inner training part and an inner validation part (leave one out: the next training photo
in :func:`~fastnn.colorize.bundled_photos` order is held out; same scene: the training region is split
again in two, with the same band, the part nearer the test region validating), every value of
``lmbda`` in :data:`GRID` is trained on the inner part, and every refinement setting is applied
to its prediction of the validation part; the lowest a*b* error (of the refined chroma, before
the gamut mapping) wins.  The colorizer is then trained on all the training data with the chosen
settings and evaluated once on the test image.  The test image is never used for any choice.

The base settings (:data:`SAME_SCENE_BASE`, :data:`LEAVE_ONE_OUT_BASE`) were fixed beforehand:
the Colorizer's defaults for the same-scene cases; 8,000 pixels per photo and 5 epochs for leave
one out (the issue's measurement that less training generalised better across photos).
``tools/colorize_eval.py`` runs the protocol and prints its tables.

**Revision 2** (after the first run, whose tables are in docs/guide/colorize.md; both changes
were measured on the inner splits of the same-scene cases, the training halves only):

* The refinement's grid is ``refine_radius`` 2, 4, 8 and ``refine_eps`` 0.001, 0.003, 0.01
  (was 8, 16, 32 and 0.003, 0.01, 0.03).  Trained on the far part of each training half and
  applied to the near part, radius 16 and 32 raised the error of 4 to 8 of the 18 inner cases by
  up to 0.5-1.0 while lowering it elsewhere, so the lowest inner error often picked a setting that
  smeared colour across an edge of the test photo; radius 2-8 rarely raised it, and never by more
  than 0.13 (seeds 0-2).
* The same-scene cases use texture features, ``texture_scales=(5, 11, 23)``
  (:data:`SAME_SCENE_BASE`): on the same inner cases they lowered the mean error from 11.34 to
  9.98 (seed 0; defaults otherwise).

The leave-one-out cases keep revision 1's grid (:data:`LEAVE_ONE_OUT_GRID`) and base settings.

**Revision 3** (after seeing revision 2's results on the test halves: its refinement raised the
error of 6 of 54 same-scene runs, by at most 0.017): the same-scene refinement is chosen by a safe
rule (``tune(..., tiles=SAME_SCENE_TILES)``): only settings that raise the error on none of the
2 x 2 tiles of the inner validation image may be chosen, and the grid (:data:`GRID`) gains weaker
settings (radius 1, ``refine_eps`` 0.0003) so that a safe one usually exists.  Revision 2's grid
is :data:`GRID_REVISION_2`.

**Revision 4** (after revision 3's results, and after a first look at the test halves; both
changes measured on the inner splits of the same-scene cases, untuned): the same-scene cases
average **5 networks** (``n_networks=5``) and keep only the **finer context**
(``context_scales=(4,)``, without the 65 x 65 neighbourhood).  On the 18 inner splits the mean
error was 9.55 for one network with both contexts (the mean over seeds 0-4), 9.40 for the 5
averaged, 8.97 for one network with the finer context and 8.72 for 5 of those (the table in
docs/guide/colorize.md).  Revision 3's base settings are :data:`SAME_SCENE_BASE_REVISION_3`.

**Confirmation photos** (after revision 4): :func:`confirmation_photos`, three photos no revision
was measured on, for the same-scene cases of a revision as it stands.
"""
import itertools

import numpy as np

from .. import _validation
from .estimator import Colorizer
from .evaluation import evaluate
from .refine import refine_chroma

REFINE_KEYS = ("refine_radius", "refine_eps")
"""The grid's entries applied to a trained network's prediction; every other entry is trained."""

SEAM_BAND = 65
"""Pixels at the seam of a half-photo split that belong to neither half (the widest context)."""

GRID = {"lmbda": (1.0, 5.0, 25.0), "refine_radius": (1, 2, 4, 8), "refine_eps": (0.0003, 0.001, 0.003, 0.01)}
"""The settings :func:`tune` chooses from in the same-scene cases (revision 3: 48 combinations; 3
trainings, one per ``lmbda``)."""

GRID_REVISION_2 = {"lmbda": (1.0, 5.0, 25.0), "refine_radius": (2, 4, 8), "refine_eps": (0.001, 0.003, 0.01)}
"""The same-scene grid of revision 2 (27 combinations)."""

FALLBACKS = ("least-harm", "off")
"""The values of :func:`tune`'s ``fallback``."""

SAME_SCENE_TILES = 2
"""Revision 3's safe choice of the refinement in the same-scene cases: the inner validation image is
cut into 2 x 2 tiles, and a refinement setting may be chosen only if it lowers (or keeps) the
error on every tile (see :func:`tune`)."""

GRID_REVISION_1 = {"lmbda": (1.0, 5.0, 25.0), "refine_radius": (8, 16, 32), "refine_eps": (0.003, 0.01, 0.03)}
"""The grid of the protocol's first run (larger refinement windows; see the module's revision 2)."""

LEAVE_ONE_OUT_GRID = GRID_REVISION_1
"""The grid of the leave-one-out cases: revision 2 changed only the same-scene cases (:data:`GRID`)."""

SAME_SCENE_BASE = {"texture_scales": (5, 11, 23), "context_scales": (4,), "n_networks": 5}
"""Colorizer parameters of the same-scene cases besides the tuned ones: texture features
(revision 2), the finer context and 5 networks (revision 4); the defaults otherwise."""

SAME_SCENE_BASE_REVISION_3 = {"texture_scales": (5, 11, 23)}
"""The same-scene base parameters of revisions 2 and 3 (the first run used the defaults alone)."""

LEAVE_ONE_OUT_BASE = {"samples_per_image": 8000, "epochs": 5}
"""Colorizer parameters of the leave-one-out cases besides the tuned ones."""

BASELINES = ("grayscale", "mean chroma")

CONFIRMATION_PHOTOS = ("hubble_deep_field", "immunohistochemistry", "retina")
"""The photos of :func:`confirmation_photos`: scikit-image's colour photographs outside the
bundled eight (its ``colorwheel`` and ``logo`` are drawings).  Chosen after revision 4, before
any of them was coloured."""


def confirmation_photos():
    """Same-scene photos no revision of the protocol was measured on (no download).

    The bundled photos (:func:`~fastnn.colorize.bundled_photos`) have been seen by every revision,
    so each revision was written knowing how the earlier ones did on them.  These three are a check
    of a revision on photos it was not shaped by: scikit-image's ``hubble_deep_field`` (a telescope
    image, nearly black), ``immunohistochemistry`` (stained tissue under a microscope) and
    ``retina`` (a fundus photograph).  Use them with :func:`same_scene_cases`; across scenes they
    have nothing in common.

    Returns
    -------
    dict
        Name -> uint8 RGB array, in :data:`CONFIRMATION_PHOTOS` order.

    Examples
    --------
    >>> photos = confirmation_photos()
    >>> {name: image.shape for name, image in photos.items()}
    {'hubble_deep_field': (872, 1000, 3), 'immunohistochemistry': (512, 512, 3), 'retina': (1411, 1411, 3)}
    """
    from skimage import data

    return {name: getattr(data, name)() for name in CONFIRMATION_PHOTOS}


def split_halves(image, band=SEAM_BAND):
    """The two halves of an image along its longer side, without ``band`` pixels at the seam.

    Parameters
    ----------
    image : ndarray, shape (h, w, ...)
    band : int
        Pixels (>= 0) between the halves, dropped.

    Returns
    -------
    (first, second) : views of ``image``
        Left and right halves if ``w >= h``, else top and bottom.

    Examples
    --------
    >>> import numpy as np
    >>> left, right = split_halves(np.zeros((100, 300, 3)))
    >>> left.shape, right.shape
    ((100, 117, 3), (100, 118, 3))
    """
    image = np.asarray(image)
    axis = 1 if image.shape[1] >= image.shape[0] else 0
    size = image.shape[axis]
    if band < 0 or size - band < 2:
        raise ValueError(f"cannot split {size} pixels in two around a band of {band}")
    end_first = (size - band) // 2
    start_second = end_first + band
    first = image[:, :end_first] if axis == 1 else image[:end_first]
    second = image[:, start_second:] if axis == 1 else image[start_second:]
    return first, second


def same_scene_cases(photos):
    """The same-scene cases: ``(name, train_image, validation_split, test_image)``.

    ``validation_split`` is ``(inner_train, inner_validation)`` for :func:`tune`.  The stereo
    pair both ways (if both views are in ``photos``), then each photo's halves both ways.
    """
    cases = []
    for a, b in (("motorcycle_left", "motorcycle_right"), ("motorcycle_right", "motorcycle_left")):
        if a in photos and b in photos:
            far, near = split_halves(photos[a])
            cases.append((f"{a} -> {b}", photos[a], (far, near), photos[b]))
    for name, photo in photos.items():
        first, second = split_halves(photo)
        for label, train, test in (("1st -> 2nd half", first, second), ("2nd -> 1st half", second, first)):
            far, near = split_halves(train)
            if train is second:  # the part of the training half nearer the test half validates
                far, near = near, far
            cases.append((f"{name} {label}", train, (far, near), test))
    return cases


def leave_one_out_cases(photos):
    """The leave-one-out cases: ``(name, train_images, validation_split, test_image)``.

    Every photo is the test image once; the next remaining photo (cyclically, in ``photos``'
    order) is the inner validation photo of :func:`tune`.
    """
    names = list(photos)
    cases = []
    for i, test in enumerate(names):
        rest = names[i + 1:] + names[:i]
        inner = rest[0]
        train = [photos[n] for n in rest]
        cases.append((test, train, ([photos[n] for n in rest[1:]], [photos[inner]]), photos[test]))
    return cases


def _lab(image):
    from skimage.color import rgb2lab

    from .images import to_float

    return rgb2lab(to_float(image, "image"))


def tile_errors(chroma, truth, tiles):
    """Mean absolute a*b* error of ``chroma`` against ``truth`` in each of ``tiles`` x ``tiles`` tiles.

    Parameters
    ----------
    chroma, truth : ndarray, shape (h, w, 2)
    tiles : int
        Tiles per side (>= 1); the image is cut into rows and columns of nearly equal size
        (``numpy.array_split``), so ``tiles`` may not exceed ``h`` or ``w``.

    Returns
    -------
    ndarray of float64, shape (tiles * tiles,)

    Examples
    --------
    >>> import numpy as np
    >>> truth = np.zeros((4, 4, 2))
    >>> chroma = truth.copy(); chroma[:2, :2] = 2.0
    >>> tile_errors(chroma, truth, 2).tolist()
    [2.0, 0.0, 0.0, 0.0]
    """
    tiles = check_tiles(tiles)
    error = np.abs(np.asarray(chroma, dtype=np.float64) - truth).mean(axis=2)
    if tiles > min(error.shape):
        raise ValueError(f"tiles must be at most the image's height and width, got {tiles} for an "
                         f"image of {error.shape[0]} x {error.shape[1]} pixels")
    return np.array([block.mean() for rows in np.array_split(error, tiles, axis=0)
                     for block in np.array_split(rows, tiles, axis=1)])


def check_tiles(tiles):
    """``tiles`` as an int >= 1 (TypeError, ValueError otherwise)."""
    return _validation.check_int(tiles, "tiles", 1)


def tune(base, inner_train, inner_validation, seed, grid=GRID, tiles=None, fallback="least-harm"):
    """Choose ``lmbda`` (and any other trained parameter of ``grid``), ``refine_radius`` and
    ``refine_eps`` on inner data only.

    Parameters
    ----------
    base : dict
        Other Colorizer parameters.
    inner_train, inner_validation : list of RGB images
    seed : int
        The colorizers' ``random_state``.
    grid : dict
        Values to try, as :data:`GRID`: ``refine_radius`` and ``refine_eps`` (applied to each
        trained network's prediction), and Colorizer parameters to train with (every combination
        of their values is trained once).
    tiles : int or None
        None (revisions 1 and 2): the setting of the lowest validation error wins.  An int
        (revision 3's safe choice, :data:`SAME_SCENE_TILES`): every validation image is cut into
        ``tiles`` x ``tiles`` tiles (:func:`tile_errors`), and a setting is *admissible* only if
        its refined chroma's error is no higher than the same network's unrefined chroma's on
        every tile of every validation image; the admissible setting of the lowest validation
        error wins.  A refinement that smears colour across an edge somewhere thus loses to a
        weaker one even if it lowers the error on average.  If none is admissible, ``fallback``
        decides.
    fallback : {"least-harm", "off"}
        With ``tiles``, when no setting is admissible: ``"least-harm"`` (revision 3), the setting
        whose largest increase on a tile is smallest; ``"off"``, no refinement (``refine=None``
        in the result, with the trained parameters of the lowest unrefined validation error).

    Returns
    -------
    best : dict
        The chosen value of every entry of ``grid``.
    scores : list of (dict, float)
        Every setting and its mean a*b* error on the validation images.

    Raises
    ------
    ValueError, TypeError
        For ``tiles`` that is not an integer >= 1 (or None), more tiles per side than a
        validation image has pixels, or an unknown ``fallback``.
    """
    if tiles is not None:
        tiles = check_tiles(tiles)
    fallback = _validation.check_choice(fallback, "fallback", FALLBACKS)
    trained = [name for name in grid if name not in REFINE_KEYS]
    labs = [_lab(image) for image in inner_validation]
    scores, worst_increase, unrefined = [], [], []
    for values in itertools.product(*(grid[name] for name in trained)):
        training = dict(zip(trained, values))
        model = Colorizer(**dict(base, **training, random_state=seed)).fit(inner_train)
        raws = [model.chroma_maps(lab[..., 0], {"net": model.predict_chroma})["net"] for lab in labs]
        unrefined.append((training, float(np.mean([np.mean(np.abs(raw - lab[..., 1:]))
                                                   for lab, raw in zip(labs, raws)]))))
        for radius in grid["refine_radius"]:
            for eps in grid["refine_eps"]:
                refined = [refine_chroma(lab[..., 0], raw, radius, eps) for lab, raw in zip(labs, raws)]
                errors = [np.mean(np.abs(chroma - lab[..., 1:])) for lab, chroma in zip(labs, refined)]
                setting = dict(training, refine_radius=radius, refine_eps=eps)
                scores.append((setting, float(np.mean(errors))))
                if tiles is not None:
                    worst_increase.append(max(
                        float(np.max(tile_errors(chroma, lab[..., 1:], tiles) - tile_errors(raw, lab[..., 1:], tiles)))
                        for lab, raw, chroma in zip(labs, raws, refined)))
    if tiles is None:
        return min(scores, key=lambda item: item[1])[0], scores
    admissible = [score for score, increase in zip(scores, worst_increase) if increase <= 0]
    if admissible:
        return min(admissible, key=lambda item: item[1])[0], scores
    if fallback == "off":
        return dict(min(unrefined, key=lambda item: item[1])[0], refine=None), scores
    return scores[int(np.argmin(worst_increase))][0], scores


def run_case(base, train, validation_split, test, seed, name, tuned=True, grid=GRID, tiles=None,
             fallback="least-harm"):
    """Tune (if ``tuned``), train on ``train``, evaluate on ``test``: one protocol case.

    Parameters
    ----------
    base : dict
        Colorizer parameters besides the tuned ones.
    train : RGB image or list of them
    validation_split : (inner_train, inner_validation)
        Images or lists of images for :func:`tune`.
    test : RGB image
    seed : int
    name : str
        The case's name in the result.
    tuned : bool
        False: the Colorizer's defaults for the tuned parameters (no inner tuning).
    grid : dict
        The settings :func:`tune` chooses from.
    tiles : int or None
        :func:`tune`'s rule: None, the lowest inner error; an int, revision 3's safe choice.
    fallback : {"least-harm", "off"}
        :func:`tune`'s choice when no refinement setting is safe.

    Returns
    -------
    dict
        ``case``, ``seed``, ``settings`` (the tuned values), and per method (``fastnn``,
        ``fastnn unrefined``, ``grayscale``, ``mean chroma``) its ``ab_error``, ``psnr``,
        ``colourfulness`` and ``blotchiness``, and the test image's ``true_colourfulness``.
        With the refinement off (``settings["refine"]`` None), ``fastnn unrefined`` is
        ``fastnn``.
    """
    def as_list(images):
        return list(images) if isinstance(images, list) else [images]

    settings = {}
    if tuned:
        inner_train, inner_validation = validation_split
        settings, _ = tune(base, as_list(inner_train), as_list(inner_validation), seed, grid, tiles, fallback)
    model = Colorizer(**dict(base, **settings, random_state=seed)).fit(as_list(train))
    rows = evaluate(model, [test], names=[name], unrefined=True)
    result = {"case": name, "seed": seed, "settings": settings,
              "true_colourfulness": rows[0]["true_colourfulness"]}
    for row in rows:
        result[row["method"]] = {key: row[key] for key in ("ab_error", "psnr", "colourfulness", "blotchiness")}
    result.setdefault("fastnn unrefined", dict(result["fastnn"]))
    return result


def sign_test(wins, trials):
    """Two-sided sign-test p-value of ``wins`` successes in ``trials`` (ties excluded beforehand).

    Examples
    --------
    >>> round(sign_test(8, 8), 4)
    0.0078
    """
    from scipy.stats import binomtest

    if trials == 0:
        return float("nan")
    return float(binomtest(wins, trials, 0.5).pvalue)
