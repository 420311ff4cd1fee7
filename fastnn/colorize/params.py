"""The Colorizer's parameters: their names and their checks (shared by the estimator and its file)."""
import numpy as np

from .. import _validation
from .features import DEFAULT_CONTEXT_SCALES
from .refine import check_refine

PARAMS = ("patch_size", "hidden_layer_sizes", "epochs", "mini_batch_size", "eta", "lmbda", "cost", "dtype",
          "samples_per_image", "mode", "bin_size", "temperature", "rebalance", "refine", "refine_radius", "refine_eps",
          "validation_fraction", "n_iter_no_change", "texture_scales", "context_scales", "n_networks",
          "random_state")
"""The constructor's parameters, in order."""

PARAMS_BEFORE_VERSION_2 = {"lmbda": 0.0, "refine": None, "refine_radius": 16, "refine_eps": 0.01,
                           "validation_fraction": None, "n_iter_no_change": 3, "mode": "regression",
                           "bin_size": 10, "temperature": 0.38}
"""The values of the parameters that files of format version 1 lack: those that reproduce them."""

PARAMS_BEFORE_VERSION_3 = {"texture_scales": ()}
"""The values of the parameters that files of format versions 1 and 2 lack: those that reproduce them."""

PARAMS_BEFORE_VERSION_4 = {"context_scales": DEFAULT_CONTEXT_SCALES, "n_networks": 1}
"""The values of the parameters that files of format versions 1-3 lack: those that reproduce them."""

PARAMS_BEFORE_VERSION_5 = {"rebalance": None}
"""The values of the parameters that files of format versions 1-4 lack: those that reproduce them."""

COSTS = ("cross-entropy", "quadratic")

MODES = ("regression", "bins")


def check_texture_scales(value):
    """``texture_scales`` as a tuple of distinct window sides (integers >= 2), in the given order.

    Raises
    ------
    TypeError
        If it is not a sequence of integers.
    ValueError
        For a side below 2 (a 1-pixel window has no texture) or a repeated side.
    """
    scales = _validation.check_hidden_sizes(value, "texture_scales")
    for size in scales:
        if size < 2:
            raise ValueError(f"texture_scales entries must be >= 2 (window sides in pixels), got {size} "
                             f"in {list(scales)!r}")
    if len(set(scales)) != len(scales):
        raise ValueError(f"texture_scales must not repeat a side, got {list(scales)!r}")
    return scales


def check_context_scales(value):
    """``context_scales`` as a tuple of distinct steps (integers >= 1), in the given order; may be empty.

    Raises
    ------
    TypeError
        If it is not a sequence of integers.
    ValueError
        For a step below 1 or a repeated step.
    """
    steps = _validation.check_positive_ints(value, "context_scales", items="steps in pixels", example="(4, 16)",
                                            meaning="steps in pixels")
    if len(set(steps)) != len(steps):
        raise ValueError(f"context_scales must not repeat a step, got {list(steps)!r}")
    return steps


def check_rebalance(value, mode):
    """``rebalance`` as None or a float in [0, 1]; only the bins mode has classes to rebalance.

    Raises
    ------
    TypeError
        If it is not None or a number.
    ValueError
        For a value outside [0, 1], or one given with ``mode="regression"``.
    """
    if value is None:
        return None
    mix = _validation.check_float(value, "rebalance", nonnegative=True)
    if mix > 1:
        raise ValueError(f"rebalance must be None or in [0, 1] (the uniform distribution's share), got {mix}")
    if mode != "bins":
        raise ValueError(f"rebalance={mix} needs mode='bins' (it weights the a*b* bins), got mode={mode!r}")
    return mix


def check_params(params):
    """The parameters ``{name: value}`` of a Colorizer, validated, as a new dict.

    Raises
    ------
    TypeError, ValueError
        Naming the first parameter of the wrong type or value.
    """
    patch = _validation.check_int(params["patch_size"], "patch_size", 1)
    if patch % 2 == 0:
        raise ValueError(f"patch_size must be odd (the pixel is its centre), got {patch}")
    random_state = params["random_state"]
    if random_state is not None:
        random_state = _validation.check_int(random_state, "random_state", 0)
    fraction = params["validation_fraction"]
    if fraction is not None:
        fraction = _validation.check_float(fraction, "validation_fraction", positive=True)
        if fraction >= 1:
            raise ValueError(f"validation_fraction must be None or in (0, 1), got {fraction}")
    refine, radius, eps = check_refine(params["refine"], params["refine_radius"], params["refine_eps"])
    mode = _validation.check_choice(params["mode"], "mode", MODES)
    return {
        "patch_size": patch,
        "hidden_layer_sizes": _validation.check_hidden_sizes(params["hidden_layer_sizes"]),
        "epochs": _validation.check_int(params["epochs"], "epochs", 1),
        "mini_batch_size": _validation.check_int(params["mini_batch_size"], "mini_batch_size", 1),
        "eta": _validation.check_float(params["eta"], "eta", positive=True),
        "lmbda": _validation.check_float(params["lmbda"], "lmbda", nonnegative=True),
        "cost": _validation.check_choice(params["cost"], "cost", COSTS),
        "dtype": np.dtype(_validation.check_dtype(params["dtype"])).name,
        "samples_per_image": _validation.check_int(params["samples_per_image"], "samples_per_image", 1),
        "mode": mode,
        "bin_size": _validation.check_int(params["bin_size"], "bin_size", 1),
        "temperature": _validation.check_float(params["temperature"], "temperature", positive=True),
        "rebalance": check_rebalance(params["rebalance"], mode),
        "refine": refine,
        "refine_radius": radius,
        "refine_eps": eps,
        "validation_fraction": fraction,
        "n_iter_no_change": _validation.check_int(params["n_iter_no_change"], "n_iter_no_change", 1),
        "texture_scales": check_texture_scales(params["texture_scales"]),
        "context_scales": check_context_scales(params["context_scales"]),
        "n_networks": _validation.check_int(params["n_networks"], "n_networks", 1),
        "random_state": random_state,
    }


def output_count(params):
    """The network's outputs for checked ``params``: 2 (a*, b*) or one per bin."""
    from .bins import bin_centres

    return 2 if params["mode"] == "regression" else len(bin_centres(params["bin_size"]))
