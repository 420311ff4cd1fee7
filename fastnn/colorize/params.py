"""The Colorizer's parameters: their names and their checks (shared by the estimator and its file)."""
import numpy as np

from .. import _validation

PARAMS = ("patch_size", "hidden_layer_sizes", "epochs", "mini_batch_size", "eta", "cost", "dtype",
          "samples_per_image", "random_state")
"""The constructor's parameters, in order."""

COSTS = ("cross-entropy", "quadratic")


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
    return {
        "patch_size": patch,
        "hidden_layer_sizes": _validation.check_hidden_sizes(params["hidden_layer_sizes"]),
        "epochs": _validation.check_int(params["epochs"], "epochs", 1),
        "mini_batch_size": _validation.check_int(params["mini_batch_size"], "mini_batch_size", 1),
        "eta": _validation.check_float(params["eta"], "eta", positive=True),
        "cost": _validation.check_choice(params["cost"], "cost", COSTS),
        "dtype": np.dtype(_validation.check_dtype(params["dtype"])).name,
        "samples_per_image": _validation.check_int(params["samples_per_image"], "samples_per_image", 1),
        "random_state": random_state,
    }
