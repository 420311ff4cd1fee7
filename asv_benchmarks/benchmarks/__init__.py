"""asv benchmarks of fastnn (run from ``asv_benchmarks/``: ``asv run --python=same --quick``)."""
