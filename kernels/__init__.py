"""Numba kernels of fastnn (installed as ``fastnn.kernels``).

Kernels only compute: they take contiguous arrays of one float dtype that the
API has already validated, and they never allocate per sample.
"""
