r"""SPM12's high-pass filter: a DCT basis :math:`X_0` that :math:`K` removes from data and design.

In SPM the drifts are not columns of the design ``xX.X``: the filter
:math:`K = I - X_0 X_0^T` (``spm_filter.m``) is applied to the whitened data and
design, :math:`K W Y` and :math:`K W X`, and :math:`X_0` also enters the ReML as
part of :math:`[X\ X_0]` (``spm_est_non_sphericity.m``). The engines apply it
(``drift_basis=``), :mod:`refglm.glm.noise` uses it in the ReML.

Arrays in, arrays out; numpy only.
"""

from __future__ import annotations

import numpy as np

__all__ = ["spm_dctmtx", "spm_drift_basis", "spm_filter"]


def spm_dctmtx(n: int, k: int) -> np.ndarray:
    r"""The first ``k`` DCT-II basis vectors of length ``n``, SPM12 ``spm_dctmtx.m``.

    .. math::
        C_{t,1} = 1/\sqrt{n},\qquad
        C_{t,j} = \sqrt{2/n}\,\cos\big(\pi (2t + 1)(j - 1) / (2n)\big),\quad t = 0..n-1
    """
    t = np.arange(n, dtype=np.float64)
    C = np.zeros((n, k))
    if k:
        C[:, 0] = np.ones(n) / np.sqrt(n)
    for j in range(2, k + 1):
        C[:, j - 1] = np.sqrt(2.0 / n) * np.cos(np.pi * (2 * t + 1) * (j - 1) / (2 * n))
    return C


def spm_drift_basis(n_scans: int, t_r: float, cutoff: float) -> np.ndarray:
    r"""SPM's drift basis :math:`X_0` (``K.X0``) for a high-pass cut-off in seconds.

    .. math:: k = \operatorname{fix}(2\,n\,TR / \mathrm{cutoff} + 1),\qquad
              X_0 = C_{:, 2..k}

    the DCT columns of period longer than the cut-off, the constant dropped (it is
    in the design). An infinite cut-off, or one giving :math:`k \le 1`, gives no
    column: no filtering.
    # SPM12 spm_filter.m: n = fix(2*(k*RT)/K(s).HParam + 1); X0 = spm_dctmtx(k,n); X0 = X0(:,2:end)

    Parameters
    ----------
    n_scans : int
    t_r : float
        Repetition time (s).
    cutoff : float
        SPM's ``hpf`` (s); refglm's ``high_pass`` is its inverse (Hz).

    Returns
    -------
    X0 : ndarray, shape (n_scans, k - 1)
    """
    n_scans = int(n_scans)
    if not np.isfinite(cutoff):
        return np.zeros((n_scans, 0))
    k = int(np.fix(2 * (n_scans * t_r) / cutoff + 1))
    return spm_dctmtx(n_scans, max(k, 1))[:, 1:]


def spm_filter(X0: np.ndarray, Y: np.ndarray) -> np.ndarray:
    r"""The filtered data :math:`K Y = Y - X_0 (X_0^T Y)`, SPM12 ``spm_filter.m``.

    :math:`X_0` has orthonormal columns (:func:`spm_drift_basis`), so :math:`K` is the
    residual-forming matrix of the drifts. An empty :math:`X_0` leaves ``Y`` unchanged.
    """
    Y = np.asarray(Y, dtype=np.float64)
    if X0 is None or X0.shape[1] == 0:
        return Y
    # Y - X0 (X0' Y), the difference written over the product (one array of Y's size
    # allocated, not two: fresh pages cost more than the arithmetic here)
    out = X0 @ (X0.T @ Y)
    return np.subtract(Y, out, out=out)
