"""float32 really is float32 inside the compiled kernels: no float64 value in their typing
except where a kernel documents one.

A float64 literal or a float32 value promoted to float64 (numba/numba#3521: ``a[0] * 0.5``
is float64) moves float32 results by about 1e-6, as much as two float32 summation orders
differ, so no tolerance on the results can see it.  This test reads numba's typing instead.

A subprocess with an empty ``NUMBA_CACHE_DIR`` and two numba threads calls every public network
kernel with float32 data (with sample weights and running metrics, and a layer big enough for
the parallel path), so each kernel and every kernel it calls is compiled afresh with its typing
recorded, then walks every compiled dispatcher in ``fastnn.kernels.*``.  In each float32
specialisation (a float32 array or scalar among its arguments), a statement whose value is
float64 and that reads a float32 value is a promotion and fails, unless it is one of the
kernels' documented float64 computations:

* an explicit conversion, ``np.float64(x)`` or ``float(x)`` (the running metrics: each
  sample's cost and weight are summed in float64, as the references compute them);
* a documented float64 argument: ``eta`` (the engines pass the learning rate as a Python
  float; the kernels compute ``eta / m`` and cast it to theta's dtype; chapter 6's
  ``network3`` passes it in theta's dtype) and ``metrics`` (the float64 running sums);
* ``total`` of ``tiled._run`` (assigned or added to): the sum of a mini-batch's weights in
  float64 (``sgd_epoch``: "eta / (the sum of its weights, in float64)");
* a call of another kernel, whose own typing is checked in turn.

A float64 argument not documented, a float64 array made inside a float32 kernel, or float32
data mixed with a float64 value fails.  (A float64 constant alone, e.g. ``math.inf`` in a
comparison, changes no float32 value and passes.)  The kernels of ``linear`` and
``perceptron`` are float64 only (documented) and are not called here.
"""
import json
import os
import re
import subprocess
import sys
import tempfile

import pytest

pytestmark = pytest.mark.slow  # compiles the float32 kernels afresh; adds nothing bounds-checked

FLOAT64_ARGUMENTS = {"eta", "metrics"}
"""Arguments documented as float64 in float32 kernels (tiled.sgd_epoch, mlp.sgd_epoch)."""

FLOAT64_VARIABLES = {"tiled._run": {"total"}}
"""Variables documented as float64 in a float32 kernel: the sum of a mini-batch's weights."""

CONVERTERS = ("class(float64)", "Function(<class 'float'>)")
"""Types of ``np.float64`` and ``float``: calling them is an explicit conversion."""

FLOAT32_MODULES = ("activations", "mlp", "tiled", "panels", "speeds", "conv", "conv_parts")
"""Every kernel of these modules serves float32 networks and must be reached below ..."""

FLOAT64_ONLY = {"activations._exp_nonpositive_64"}
"""... but these, the float64 halves of a pair whose float32 half is reached instead."""

SCRIPT = r'''
import importlib, json, pkgutil
import numba, numpy as np
from numba.core.registry import CPUDispatcher
import fastnn.kernels
from fastnn import Network, _params
from fastnn.kernels import activations, mlp, speeds, tiled

assert numba.get_num_threads() >= 2, "the parallel layer must be compiled too"
f32 = np.float32
activations.sigmoid_prime(f32(0.3))
for sizes in ([7, 5, 3], [9, 13, 1], [300, 67, 10]):
    sizes, w_off, b_off, n = _params.layout(sizes)
    rng = np.random.default_rng(0)
    theta = rng.standard_normal(n).astype(f32)
    X, Y = rng.random((11, sizes[0])).astype(f32), rng.random((11, sizes[-1])).astype(f32)
    order, out, nabla = rng.permutation(11), np.empty((11, sizes[-1]), f32), np.empty_like(theta)
    # the public kernels, with the argument types the engines pass (eta a Python float)
    # both register blocks, whichever this CPU uses (a process compiles only its own)
    for cost in (mlp.QUADRATIC, mlp.CROSS_ENTROPY):
        for rows in tiled.BLOCK_ROWS:
            tiled.sgd_epoch(theta, w_off, b_off, sizes, X, Y, order, 4, 3.0, f32(0.99), cost, block_rows=rows)
            tiled.sgd_epoch(theta, w_off, b_off, sizes, X, Y, order, 9, 3.0, f32(0.99), cost, block_rows=rows,
                            sample_weight=rng.random(11), metrics=np.zeros(3))
        # the first layer as panels (kernels/panels.py and its tiles)
        tiled.sgd_epoch(theta, w_off, b_off, sizes, X, Y, order, 9, 3.0, f32(0.99), cost, panels=True,
                        sample_weight=rng.random(11), metrics=np.zeros(3))
        mlp.sgd_epoch(theta, w_off, b_off, sizes, X, Y, order, 4, 3.0, f32(0.99), cost)
        mlp.update_mini_batch(theta, w_off, b_off, sizes, X, Y, order[:4], f32(0.75), f32(0.99), cost)
        mlp.backprop(theta, w_off, b_off, sizes, X[0], Y[0], cost, nabla)
        speeds.mean_bias_gradient(theta, w_off, b_off, sizes, X, Y, cost,
                                  np.empty(speeds.bias_offsets(sizes)[-1], f32))
    for rows in tiled.BLOCK_ROWS:
        tiled.feedforward_batch(theta, w_off, b_off, sizes, X, out, block_rows=rows)
    mlp.feedforward_batch(theta, w_off, b_off, sizes, X, out)
# and the API's paths
X = np.random.default_rng(1).random((11, 7))
net = Network([7, 5, 3], seed=0, dtype="float32", cost="cross-entropy")
net.fit(X, np.arange(11) % 3, epochs=1, mini_batch_size=4, lmbda=1.0, sample_weight=np.arange(11.0))
net.update_mini_batch([(x.reshape(-1, 1), 1) for x in X[:3]], 0.5, 1.0, 11)
net.backprop(X[0].reshape(-1, 1), 2)
net.predict_proba(X)
net.layer_speeds(X, np.arange(11) % 3)
# chapter 6 (fastnn.network3 and its kernels conv, conv_parts): every activation, a direct
# (C*fh*fw < 64) and a gathered conv layer, the book's 5-wide filters and others, 2x2 and
# other pools, dropout, L2, validation, and the plain per-sample kernels
from fastnn import network3 as n3
from fastnn.kernels import conv
rng = np.random.default_rng(2)
for layers, side in (
        ([n3.ConvPoolLayer((4, 1, 5, 5), (5, 1, 14, 14), (2, 2), n3.ReLU),      # -> 4x5x5, direct
          n3.ConvPoolLayer((6, 4, 4, 4), (5, 4, 5, 5), (2, 1), n3.sigmoid),     # Q = 64: gathered
          n3.FullyConnectedLayer(12, 8, n3.tanh, p_dropout=0.3), n3.SoftmaxLayer(8, 10, p_dropout=0.2)], 14),
        ([n3.ConvPoolLayer((3, 1, 5, 5), (5, 1, 16, 16), (2, 2), n3.linear),    # -> 3x6x6
          n3.ConvPoolLayer((4, 3, 5, 5), (5, 3, 6, 6), (2, 2), n3.tanh),        # Q = 75, 5 wide
          n3.FullyConnectedLayer(4, 6, n3.ReLU), n3.SoftmaxLayer(6, 10)], 16)):
    net3 = n3.Network(layers, 5, seed=0, dtype="float32")
    X3 = rng.random((20, side * side)).astype(np.float32)
    y3 = rng.integers(0, 10, 20)
    net3.fit(X3, y3, 1, 5, 0.1, lmbda=0.5, validation_data=(X3, y3))
    net3.predict_proba(X3)
    nabla3 = np.zeros_like(net3._theta)
    conv.accumulate_gradient(net3._theta, net3._spec, net3._keep, X3, y3, np.arange(5), net3._draw_masks(5), 0,
                             nabla3, np.zeros(2))

report = {}
for info in pkgutil.iter_modules(fastnn.kernels.__path__):
    module = importlib.import_module(f"fastnn.kernels.{info.name}")
    for name, obj in vars(module).items():
        # inline="always" kernels are typed inside their callers, never compiled on their own
        if (isinstance(obj, CPUDispatcher) and obj.__module__ == module.__name__
                and obj.targetoptions.get("inline") != "always"):
            report[f"{info.name}.{name}"] = [
                [[str(t) for t in sig], str(cres.type_annotation)] for sig, cres in obj.overloads.items()]
print(json.dumps(report))
'''

_STATEMENT = re.compile(r"^\s*#\s+([\w.$]+) = (.*?)\s+:: (\S.*)$")
_ARGUMENT = re.compile(r"^arg\(\d+, name=(\w+)\)$")


def _value_type(annotated):
    """The type of the assigned value (the return type of an annotated call signature)."""
    return annotated.split("->")[-1].strip()


def _base(name):
    """The source variable of an SSA name (``total.2`` -> ``total``)."""
    return name.split(".")[0]


def float64_violations(annotation, variables=()):
    """Statements of a float32 specialisation that make a float64 value they should not.

    ``annotation`` is numba's annotated source (``inspect_types``): one line per statement,
    ``name = expression  :: type``.  ``variables``: the kernel's documented float64 variables.
    A statement is refused if its value is float64 and it is an undocumented argument, a
    float64 array, or reads a float32 value (outside a documented conversion, variable or
    kernel call; see the module's docstring).
    """
    types, callables, bad = {}, set(), []

    def documented(name):
        return _base(name) in variables

    for line in annotation.splitlines():
        match = _STATEMENT.match(line)
        if not match:
            continue
        name, expression, annotated = match.groups()
        value_type = _value_type(annotated)
        types[name] = value_type
        if value_type in CONVERTERS or value_type.startswith("type(CPUDispatcher"):
            callables.add(name)
            continue
        if "float64" not in value_type:
            continue
        argument = _ARGUMENT.match(expression)
        call = re.match(r"call ([\w.$]+)\(", expression)
        accumulator = re.search(r"\blhs=([\w.$]+)", expression) if "inplace_binop" in expression else None
        accumulator = accumulator.group(1) if accumulator else ""  # x += ...: x
        if argument:
            refused = argument.group(1) not in FLOAT64_ARGUMENTS
        elif _base(expression) in FLOAT64_ARGUMENTS and re.fullmatch(r"[\w.$]+", expression):
            refused = False  # a documented float64 argument under another SSA name (a phi)
        elif documented(name) or documented(accumulator) or (call and call.group(1) in callables):
            refused = False
        else:
            operands = [t for t in re.findall(r"[\w.$]+", expression) if t in types and t != name]
            refused = value_type.startswith("array(float64") or any("float32" in types[t] for t in operands)
        if refused:
            bad.append(line.strip())
    return bad


@pytest.fixture(scope="module")
def compiled_kernels():
    with tempfile.TemporaryDirectory(prefix="fastnn-f32-cache-") as cache:
        # typing needs no optimiser; two threads so that the parallel layer is compiled too
        env = dict(os.environ, NUMBA_CACHE_DIR=cache, NUMBA_OPT="0", NUMBA_NUM_THREADS="2")
        proc = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True,
                              text=True, timeout=1200)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_every_float32_kernel_was_compiled(compiled_kernels):
    missing = [name for name, overloads in compiled_kernels.items()
               if name.split(".")[0] in FLOAT32_MODULES and name not in FLOAT64_ONLY and not overloads]
    assert not missing, f"not reached with float32 data, so not checked: {missing}"
    float32 = [name for name, overloads in compiled_kernels.items()
               if any("float32" in " ".join(sig) for sig, _ in overloads)]
    assert len(float32) >= 10, float32


def test_no_float64_in_float32_kernels(compiled_kernels):
    problems = {}
    for name, overloads in compiled_kernels.items():
        for sig, annotation in overloads:
            if any("float32" in t for t in sig):
                assert ":: " in annotation, f"{name}: no typing recorded"
                bad = float64_violations(annotation, FLOAT64_VARIABLES.get(name, ()))
                if bad:
                    problems[f"{name}{tuple(sig)}"] = bad
    assert not problems, json.dumps(problems, indent=1)


def test_the_checker_sees_promotions():
    """The parser on hand-written annotations: what it accepts and refuses."""
    ok = """
    #   theta = arg(0, name=theta)  :: array(float32, 1d, C)
    #   eta = arg(1, name=eta)  :: float64
    #   m = arg(2, name=m)  :: int64
    #   $q = eta / m  :: float64
    #   step = call $f($q, func=$f, args=[Var($q, x.py:1)])  :: (float64,) -> float32
    #   $x = getitem(value=theta, index=m)  :: float32
    #   $inf = getattr(value=$math, attr=inf)  :: float64
    #   $lt = $x < $inf  :: (float32, float64) -> bool
    #   $to64 = getattr(value=$np, attr=float64)  :: class(float64)
    #   $w = call $to64($x, func=$to64, args=[Var($x, x.py:2)])  :: (float32,) -> float64
    #   $k = global(_score: CPUDispatcher(<function _score>))  :: type(CPUDispatcher(<function _score>))
    #   $r = call $k(theta, m, func=$k, args=[])  :: (array(float32, 1d, C), int64) -> UniTuple(float64 x 2)
    #   total = call $to64(m, func=$to64, args=[Var(m, x.py:3)])  :: (int64,) -> float64
    #   $sum = inplace_binop(fn=<built-in function iadd>, lhs=total, rhs=$x)  :: float64
    #   total.1 = $sum  :: float64
    #   $phi1 = eta  :: float64
    """
    assert float64_violations(ok, {"total"}) == []
    assert float64_violations(ok) == [ok.splitlines()[-4].strip()]  # total undocumented: refused
    for bad in ("#   $c = const(float, 0.5) * $x  :: float64",                  # a float64 literal
                "#   $y = $x  :: float64",                                      # float32 data as float64
                "#   $y = $q * theta  :: array(float64, 1d, C)",                # mixed with float32
                "#   $z = call $empty(m, func=$empty, args=[])  :: (int64,) -> array(float64, 1d, C)",
                "#   decay = arg(3, name=decay)  :: float64"):                  # undocumented argument
        assert float64_violations(ok + bad, {"total"}) == [bad.strip()], bad
