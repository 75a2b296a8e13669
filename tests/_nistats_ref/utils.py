"""Minimal excerpt of nistats 0.0.1rc0 ``nistats/utils.py`` (vendored for tests).

Only the two names that ``design_matrix.py`` imports are kept, verbatim:
``full_rank`` (utils.py lines 266-295) and ``_basestring`` (line 319, with
``py3`` from line 18). The rest of utils.py (BIDS helpers, nibabel access) is
omitted because the design-matrix code never calls it.
"""
import sys
from warnings import warn

import numpy as np
import scipy.linalg as spl

py3 = sys.version_info[0] >= 3


def full_rank(X, cmax=1e15):
    """ Computes the condition number of X and if it is larger than cmax,
    returns a matrix with a condition number smaller than cmax.

    Parameters
    ----------
    X : array of shape (nrows, ncols)
        input array

    cmax : float, optional (default:1.e15),
        tolerance for condition number

    Returns
    -------
    X : array of shape (nrows, ncols)
        output array

    cond : float,
        actual condition number
    """
    U, s, V = spl.svd(X, full_matrices=False)
    smax, smin = s.max(), s.min()
    cond = smax / smin
    if cond < cmax:
        return X, cond

    warn('Matrix is singular at working precision, regularizing...')
    lda = (smax - cmax * smin) / (cmax - 1)
    X = np.dot(U, np.dot(np.diag(s + lda), V))
    return X, cmax


_basestring = str if py3 else basestring
