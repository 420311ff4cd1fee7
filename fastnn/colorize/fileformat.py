"""The colorizer's file: an ``.npz`` of the parameters, the standardisation, the mean chroma and
the networks (in :meth:`fastnn.Network.save`'s format, the first under ``network.`` keys, the
others under ``network1.``, ``network2.``, ...).  No pickle.

Format version 5 (``format = "fastnn.Colorizer"``, ``format_version = 5``): entries
``meta`` (JSON: ``params``, ``chroma_mean``, ``n_samples``, ``fit_seconds``,
``fastnn_version``), ``feature_mean`` and ``feature_scale`` (float64, one per feature)
and one network per ``n_networks``.  Every entry is checked against the others when a file is
loaded.  Versions 1-4 lack ``rebalance`` (added in version 5); they load with ``rebalance=None``.
Versions 1-3 lack ``context_scales`` and ``n_networks`` (added in version 4); they
load with ``context_scales=(4, 16)`` and ``n_networks=1``.
Version 1 (fastnn before ``lmbda`` and the refinement) lacks those parameters in ``meta``;
such files still load, with the values that reproduce them (``lmbda=0``, ``refine=None``).
Versions 1 and 2 lack ``texture_scales`` (added in version 3); they load with ``texture_scales=()``.
"""
import json

import numpy as np

from .. import persistence
from .._version import __version__
from ..exceptions import ModelFileError
from ..network import Network
from .features import feature_count
from .params import (PARAMS, PARAMS_BEFORE_VERSION_2, PARAMS_BEFORE_VERSION_3, PARAMS_BEFORE_VERSION_4,
                     PARAMS_BEFORE_VERSION_5, check_params, output_count)

FORMAT_NAME = "fastnn.Colorizer"
FORMAT_VERSION = 5
READABLE_VERSIONS = (1, 2, 3, 4, 5)


def network_prefix(k):
    """The key prefix of network ``k`` in a colorizer's file: ``network.``, then ``network1.``, ..."""
    return "network." if k == 0 else f"network{k}."


def colorizer_arrays(model):
    """The arrays of a fitted colorizer's file (for ``np.savez``)."""
    params = model.params_
    meta = {"params": dict(params, hidden_layer_sizes=list(params["hidden_layer_sizes"]),
                           texture_scales=list(params["texture_scales"]),
                           context_scales=list(params["context_scales"])),
            "chroma_mean": [float(c) for c in model.chroma_mean_], "n_samples": int(model.n_samples_),
            "fit_seconds": float(getattr(model, "fit_seconds_", 0.0)), "fastnn_version": __version__}
    arrays = {"format": np.array(FORMAT_NAME), "format_version": np.array(FORMAT_VERSION, dtype=np.int64),
              "meta": np.array(json.dumps(meta)), "feature_mean": model.feature_mean_,
              "feature_scale": model.feature_scale_}
    for k, net in enumerate(model.networks_):
        for key, value in persistence.network_arrays(net).items():
            arrays[network_prefix(k) + key] = value
    return arrays


def colorizer_from_arrays(cls, arrays, path):
    """Rebuild a Colorizer (class ``cls``) from the arrays of its file, checking every entry.

    Raises
    ------
    fastnn.ModelFileError
        Naming the first entry that is missing, malformed or disagrees with the others.
    """
    error = ModelFileError
    version = arrays.get("format_version")
    if version is None or version.shape != () or version.dtype.kind not in "iu" \
            or int(version) not in READABLE_VERSIONS:
        raise error(f"{path!r}: colorizer file format version {version!r} is not one of {READABLE_VERSIONS}")
    meta = persistence.json_entry(arrays, "meta", path)
    missing = dict(PARAMS_BEFORE_VERSION_2) if int(version) == 1 else {}
    if int(version) < 3:
        missing.update(PARAMS_BEFORE_VERSION_3)
    if int(version) < 4:
        missing.update(PARAMS_BEFORE_VERSION_4)
    if int(version) < 5:
        missing.update(PARAMS_BEFORE_VERSION_5)
    stored = set(PARAMS) - set(missing)
    if not isinstance(meta, dict) or not {"params", "chroma_mean", "n_samples"} <= set(meta) \
            or not isinstance(meta["params"], dict) or set(meta["params"]) != stored:
        raise error(f"{path!r}: 'meta' entry does not describe a colorizer")
    params = dict(missing, **meta["params"])
    for key in ("hidden_layer_sizes", "texture_scales", "context_scales"):
        if isinstance(params[key], list):  # JSON has no tuples
            params[key] = tuple(params[key])
    model = cls(**params)
    try:
        params = check_params(params)
    except (TypeError, ValueError) as exc:
        raise error(f"{path!r}: invalid colorizer parameters ({exc})") from exc
    n_features = feature_count(params["patch_size"], params["texture_scales"], params["context_scales"])
    networks = [read_network(arrays, k, [n_features, *params["hidden_layer_sizes"], output_count(params)],
                             params, path) for k in range(params["n_networks"])]
    for key in ("feature_mean", "feature_scale"):
        value = arrays.get(key)
        if value is None or value.shape != (n_features,) or value.dtype != np.float64 \
                or not np.isfinite(value).all():
            raise error(f"{path!r}: entry {key!r} must be {n_features} finite float64 values")
    chroma_mean = meta["chroma_mean"]
    if not (isinstance(chroma_mean, list) and len(chroma_mean) == 2
            and all(isinstance(c, (int, float)) and np.isfinite(c) for c in chroma_mean)):
        raise error(f"{path!r}: 'chroma_mean' must be two finite numbers, got {chroma_mean!r}")
    n_samples, fit_seconds = meta["n_samples"], meta.get("fit_seconds")
    if isinstance(n_samples, bool) or not isinstance(n_samples, int) or n_samples < 1:
        raise error(f"{path!r}: 'n_samples' must be a positive integer, got {n_samples!r}")
    if not (fit_seconds is None or isinstance(fit_seconds, (int, float))):
        raise error(f"{path!r}: 'fit_seconds' must be a number, got {fit_seconds!r}")
    if not np.all(arrays["feature_scale"] > 0):
        raise error(f"{path!r}: 'feature_scale' must be positive")
    expected_keys = {"format", "format_version", "meta", "feature_mean", "feature_scale"}
    prefixes = tuple(network_prefix(k) for k in range(params["n_networks"]))
    extra = {key for key in arrays if not key.startswith(prefixes)} - expected_keys
    if extra:
        raise error(f"{path!r}: unexpected entries {sorted(extra)}")
    model.networks_, model.network_ = networks, networks[0]
    model.params_ = params
    model.n_features_in_ = n_features
    model.feature_mean_ = arrays["feature_mean"]
    model.feature_scale_ = arrays["feature_scale"]
    model.chroma_mean_ = np.array(chroma_mean, dtype=np.float64)
    model.n_samples_ = n_samples
    model.fit_seconds_ = fit_seconds
    return model


def read_network(arrays, k, expected, params, path):
    """Network ``k`` of a colorizer's file, checked against the colorizer's parameters.

    Raises
    ------
    fastnn.ModelFileError
        If its entries are missing or malformed, or its sizes, dtype or cost disagree with
        ``expected`` and ``params``.
    """
    prefix = network_prefix(k)
    network_arrays = {key[len(prefix):]: value for key, value in arrays.items() if key.startswith(prefix)}
    if not network_arrays:
        raise ModelFileError(f"{path!r}: network {k} of {params['n_networks']} is missing (no {prefix!r} entries)")
    net = persistence.network_from_payload(Network, persistence.parse_model_arrays(network_arrays, path), path)
    if net.sizes != expected or net.dtype.name != params["dtype"] or net.cost != params["cost"]:
        raise ModelFileError(f"{path!r}: network {k} ({net.sizes}, {net.dtype.name}, {net.cost}) does not match "
                             f"the colorizer's parameters (expected {expected}, {params['dtype']}, "
                             f"{params['cost']})")
    return net
