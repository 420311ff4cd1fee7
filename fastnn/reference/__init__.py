"""Plain NumPy implementations written from the book's equations.

Nothing here imports :mod:`fastnn.kernels`: these are the independent oracles
the fast kernels are checked against.
"""
