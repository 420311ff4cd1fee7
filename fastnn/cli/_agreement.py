"""The agreement line that ends every ``fastnn compare`` run, and its exit status."""


def report_agreement(worst, n_check, tolerance, disagreements, *, checked, failed):
    """Print the largest parameter difference from the reference after ``n_check`` samples.

    ``disagreements`` are the rows beyond ``tolerance`` (NaN counts as beyond, so the callers
    decide); ``checked`` names the compared rows in the summary line, ``failed`` in the error
    line.  Returns the command's exit status: 1 if any row disagrees, else 0.
    """
    print(f"agreement check (1 epoch of {n_check} samples): {checked} vs reference max abs "
          f"parameter difference {worst:.1e}, tolerance {tolerance:g}")
    if disagreements:
        print(f"ERROR: {failed} differs from the reference by {worst:.3g} > tolerance {tolerance:g}")
        return 1
    return 0
