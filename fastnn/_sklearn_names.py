"""scikit-learn's parameter names in fastnn's estimators (:mod:`fastnn.sklearn`): the ones
accepted as aliases, the choices fastnn makes one way only, and the ones refused with what to
use instead."""
import inspect


_GUIDE = ("See the guide page 'fastnn as a drop-in for scikit-learn's MLP' (docs/guide/sklearn.md, "
          "Parameters: scikit-learn -> fastnn).")

_ALIASES = {"max_iter": "epochs", "batch_size": "mini_batch_size", "learning_rate_init": "eta"}
"""scikit-learn's names accepted for fastnn's parameters of the same meaning."""

_DEFAULTS = {"epochs": 30, "mini_batch_size": 10, "eta": 3.0}
"""fastnn's defaults of the aliased parameters (a value other than these, given together with the
alias, is a conflict)."""

_FIXED = {"solver": "sgd", "activation": "logistic", "learning_rate": "constant", "momentum": 0}
"""scikit-learn's choices that fastnn makes one way only: the one value accepted."""

_FIXED_WHY = {
    "solver": "fastnn trains with the book's mini-batch SGD (network.py, network2.py) only.",
    "activation": "the book's network is sigmoid ('logistic') throughout; its equations and kernels "
                  "are written for sigma' = a(1 - a).",
    "learning_rate": "fastnn's eta is constant (Network.fit's eta_schedule_n has chapter 3's "
                     "halving schedule).",
    "momentum": "fastnn's network has no momentum: its SGD is scikit-learn's solver='sgd' with "
                "momentum=0.",
}

_REFUSED = {
    "alpha": "use lmbda (the book's L2 parameter, eq. 93). They differ: scikit-learn divides alpha "
             "by each mini-batch's size (or weight sum), the book divides lmbda by the training-set "
             "size n; lmbda = alpha * n / mini_batch_size gives the same decay for full mini-batches.",
    "loss": "use cost='quadratic' or cost='cross-entropy' (fastnn's output layer is sigmoid, "
            "scikit-learn's regressor output is the identity, so no loss of one is the other's).",
    "nesterovs_momentum": "fastnn's network has no momentum (momentum=0 is plain SGD).",
    "beta_1": "an Adam parameter; fastnn trains with mini-batch SGD only (solver='sgd').",
    "beta_2": "an Adam parameter; fastnn trains with mini-batch SGD only (solver='sgd').",
    "epsilon": "an Adam parameter; fastnn trains with mini-batch SGD only (solver='sgd').",
    "power_t": "only used by learning_rate='invscaling'; fastnn's eta is constant.",
    "max_fun": "an L-BFGS parameter; fastnn trains with mini-batch SGD only (solver='sgd').",
}
"""scikit-learn's parameters with no exact meaning in fastnn, and what to do instead."""


def _same(value, expected):
    """``value == expected`` for plain values, without NumPy's elementwise comparison."""
    try:
        return bool(value == expected) and type(value) is not bool
    except (TypeError, ValueError):
        return False


def _refuse(name, params):
    """Raise TypeError for the keyword arguments ``params`` (names) an estimator ``name`` does not take:
    scikit-learn's with the fastnn parameter to use, others as Python would."""
    for key in params:
        if key in _REFUSED:
            raise TypeError(f"{name}({key}=...) is not supported: {_REFUSED[key]} {_GUIDE}")
        raise TypeError(f"{name}() got an unexpected keyword argument {key!r}")



class _SklearnNames:
    """Refuses, at construction, the keyword arguments ``__init__`` does not take, with a message
    naming the public class (and, for scikit-learn's parameters, what to use in fastnn) rather
    than Python's, which would name the private class defining ``__init__``.

    Placed after the class defining ``__init__`` in the MRO, so that ``inspect.signature`` (and
    so scikit-learn's ``get_params``) still sees ``__init__``'s parameters.
    """

    def __new__(cls, *args, **kwargs):
        known = inspect.signature(cls.__init__).parameters
        _refuse(cls.__name__, [key for key in kwargs if key not in known])
        return super().__new__(cls)
