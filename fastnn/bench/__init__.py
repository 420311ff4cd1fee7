"""Speed and agreement of the engines: what ``fastnn compare`` and ``fastnn bench`` run.

* ``fastnn.bench.harness``: data, thread limits, warm-up, timed fits and the
  starting state that every compared implementation shares;
* ``fastnn.bench.compare``: ``compare`` trains the same initial parameters in the
  same order of samples with ``Network.fit`` (threads None, 1 and all cores), the
  book's per-sample reference, chapter 2's matrix engine, a tuned NumPy matrix
  form, and JAX and PyTorch CPU when installed, then tabulates seconds per epoch,
  speed relative to the reference, the largest parameter difference from the
  reference and test accuracy;
* ``fastnn.bench.speed``: ``bench`` times ``Network.fit`` and ``predict_proba``
  over a few shapes, mini-batch sizes, dtypes and thread counts;
* ``fastnn.bench.rivals``: the other tools' trainers (tuned NumPy, JAX, PyTorch);
* ``fastnn.bench.limits``: the machine's dgemm/sgemm rate through NumPy and an epoch's GFLOP/s;
* ``fastnn.bench.sizes``: ``bench --hidden-sweep``, fastnn against the NumPy matrix form as the
  hidden layer grows.

The functions return rows (lists of dicts) and tables (strings); the commands are
``fastnn.cli.compare`` and ``fastnn.cli.bench``.  Timings never include
compilation: the jit kernels are warmed up on a tiny network of the same dtype
first, and every other row has its own untimed warm-up (stated under the compare
table).  Every name below is importable from ``fastnn.bench``.
"""
from . import limits, rivals, sizes
from .compare import (COMPARE_ENGINES, FLOAT32_TOLERANCE, FLOAT64_TOLERANCE, LEGEND, WARMUP, Run,
                      best_of_threads, compare_legend, compare_rows, format_compare, jit_disagreements,
                      plot_compare, run_compare)
from .harness import (DEFAULT_SIZES, blas_threads, core_count, cpu_model, flops_per_sample,
                      initial_state, load_data, max_param_difference, network_with, settle, synthetic_data,
                      time_fit, train_fastnn, warm_up)
from .limits import epoch_gflops, format_limits, gemm_rate, machine_limits
from .sizes import SWEEP_HIDDEN, SWEEP_MINI_BATCHES, format_hidden_sweep, run_hidden_sweep
from .speed import (BENCH_MINI_BATCHES, BENCH_SIZES, format_bench, format_inference, numpy_forward,
                    run_bench, run_inference_bench, thread_choices)

__all__ = [
    # harness
    "synthetic_data", "load_data", "flops_per_sample", "blas_threads", "core_count", "cpu_model",
    "warm_up", "train_fastnn", "time_fit", "initial_state", "network_with", "max_param_difference",
    "settle", "DEFAULT_SIZES",
    # compare
    "run_compare", "compare_rows", "jit_disagreements", "format_compare", "best_of_threads",
    "compare_legend", "plot_compare", "Run", "COMPARE_ENGINES", "LEGEND", "WARMUP",
    "FLOAT64_TOLERANCE", "FLOAT32_TOLERANCE",
    # limits
    "gemm_rate", "machine_limits", "format_limits", "epoch_gflops",
    # sizes
    "run_hidden_sweep", "format_hidden_sweep", "SWEEP_HIDDEN", "SWEEP_MINI_BATCHES",
    # speed
    "run_bench", "format_bench", "run_inference_bench", "format_inference", "numpy_forward",
    "thread_choices", "BENCH_SIZES", "BENCH_MINI_BATCHES",
]
# fastnn.bench.rivals (the other tools' trainers) is a module of its own, imported here
