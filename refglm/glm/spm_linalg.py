"""SPM12's numerical building blocks, as SPM12 r7771 (under MATLAB or Octave) computes them.

The steps of the ``spm12`` convention (``design.spm``, ``scaling``, ``masking``,
``filtering``, ``noise``, the engines, ``contrasts``) share these: rounding and sums
in MATLAB's order, MATLAB's ``rank`` and ``pinv`` tolerances, and SPM's own
``spm_inv``, ``spm_svd``, ``spm_sqrtm``, ``spm_orth`` and ``spm_sp`` (the design
space). Each function names the SPM (or MATLAB built-in) routine it reproduces; the
results agree with SPM's to the last few ulps (``tests/peers/test_spm12.py``).

Arrays in, arrays out; numpy only.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "EPS",
    "matlab_round",
    "seqsum",
    "matlab_rank",
    "matlab_pinv",
    "spm_inv",
    "spm_en",
    "spm_svd",
    "spm_sqrtm",
    "spm_orth",
    "SpmSpace",
]

#: MATLAB ``eps``: the spacing of doubles at 1.
EPS = float(np.finfo(np.float64).eps)


def matlab_round(x) -> np.ndarray:
    r"""MATLAB ``round``: halves away from zero (numpy's ``round`` sends them to even).

    .. math:: \operatorname{round}(x) = \operatorname{sign}(x)\,\lfloor |x| + 1/2 \rfloor

    # SPM12 spm_get_ons.m: ton = round(ons*TR/dt) + 33; an onset on an exact half
    # microbin (43.96875 s at dt = 7/16 s is bin 100.5) goes to 101, not 100.
    """
    x = np.asarray(x, dtype=np.float64)
    return np.sign(x) * np.floor(np.abs(x) + 0.5)


def seqsum(x, axis=None):
    r"""A left-to-right floating-point sum, as MATLAB's ``sum`` and SPM's C loops add.

    .. math:: s = (((x_1 + x_2) + x_3) + \dots) + x_n

    numpy's ``sum`` is pairwise and can differ in the last bits; ``np.add.accumulate``
    adds in order. ``axis=None`` sums the Fortran-ordered (column-major) values, as
    MATLAB's ``sum(x(:))`` does.
    """
    x = np.asarray(x, dtype=np.float64)
    if axis is None:
        flat = x.ravel(order="F")
        return float(np.add.accumulate(flat)[-1]) if flat.size else 0.0
    if x.shape[axis] == 0:
        return np.zeros(np.delete(x.shape, axis))
    return np.take(np.add.accumulate(x, axis=axis), -1, axis=axis)


def matlab_rank(X) -> int:
    r"""MATLAB ``rank``: the singular values above :math:`\max(m, n)\, s_1\, \epsilon`."""
    X = np.atleast_2d(np.asarray(X, dtype=np.float64))
    if X.size == 0:
        return 0
    s = np.linalg.svd(X, compute_uv=False)
    return int(np.sum(s > max(X.shape) * s[0] * EPS))


def matlab_pinv(X) -> np.ndarray:
    r"""MATLAB ``pinv``: :math:`V_r S_r^{-1} U_r^T` over the singular values above
    :math:`\max(m, n)\, s_1\, \epsilon`."""
    X = np.atleast_2d(np.asarray(X, dtype=np.float64))
    if X.size == 0:
        return np.zeros(X.shape[::-1])
    u, s, vt = np.linalg.svd(X, full_matrices=False)
    r = int(np.sum(s > max(X.shape) * s[0] * EPS))
    return (vt[:r].T / s[:r]) @ u[:, :r].T


def spm_inv(A, tol: float | None = None) -> np.ndarray:
    r"""A regularised inverse, SPM12 ``spm_inv.m``.

    .. math:: A^{-1} \approx (A + \tau I)^{-1}, \qquad
              \tau = \max\big(\operatorname{eps}(\lVert A\rVert_\infty) \max(m, n),\ e^{-32}\big)

    # SPM12 spm_inv.m: TOL = max(eps(norm(A,'inf'))*max(m,n),exp(-32)); X = inv(A + speye(m,n)*TOL)
    """
    A = np.atleast_2d(np.asarray(A, dtype=np.float64))
    m, n = A.shape
    if A.size == 0:
        return np.zeros((n, m))
    if tol is None:
        norm_inf = float(np.max(np.sum(np.abs(A), axis=1)))
        tol = max(float(np.spacing(norm_inf)) * max(m, n), float(np.exp(-32)))
    return np.linalg.inv(A + np.eye(m, n) * tol)


def spm_en(X) -> np.ndarray:
    """Each non-zero column scaled to unit Euclidean norm, SPM12 ``spm_en.m``."""
    X = np.array(X, dtype=np.float64, copy=True)
    for i in range(X.shape[1]):
        if np.any(X[:, i]):
            X[:, i] = X[:, i] / np.sqrt(np.sum(X[:, i] ** 2))
    return X


def _svd_symmetric(A):
    """``[v, S, v] = svd(A)`` of a symmetric positive semi-definite ``A`` (values descending)."""
    _, s, vt = np.linalg.svd(A)
    return s, vt.T


def spm_svd(X, U: float = 1e-6):
    r"""SVD with small modes removed, SPM12 ``spm_svd.m``.

    :math:`X \approx u\,\mathrm{diag}(s)\,v^T`, keeping the modes with
    :math:`s_i^2\, k / \sum_j s_j^2 > U` (:math:`U \le 0`: :math:`64\epsilon`). As SPM,
    the zero rows and columns are removed first; a tall matrix is decomposed through
    :math:`X^TX` (``v``, then ``u = spm_en(X v)``), a wide one through :math:`XX^T`, and
    a diagonal one by sorting its diagonal.

    Returns
    -------
    u : (m, k); s : (k,); v : (n, k)
    """
    X = np.atleast_2d(np.asarray(X, dtype=np.float64))
    if U >= 1:
        U = U - 1e-6
    if U <= 0:
        U = 64 * EPS
    M, N = X.shape
    p = np.flatnonzero(np.any(X, axis=1))
    q = np.flatnonzero(np.any(X, axis=0))
    Xr = X[np.ix_(p, q)]
    m, n = Xr.shape
    ii, jj = np.nonzero(Xr.T)
    if np.any(ii != jj):
        if m > n:
            s, v = _svd_symmetric(Xr.T @ Xr)
            keep = np.flatnonzero(s * len(s) / np.sum(s) > U)
            v = v[:, keep]
            u = spm_en(Xr @ v)
            S = np.sqrt(s[keep])
        elif m < n:
            s, u = _svd_symmetric(Xr @ Xr.T)
            keep = np.flatnonzero(s * len(s) / np.sum(s) > U)
            u = u[:, keep]
            v = spm_en(Xr.T @ u)
            S = np.sqrt(s[keep])
        else:
            u, S, vt = np.linalg.svd(Xr, full_matrices=False)
            v = vt.T
            s = S**2
            keep = np.flatnonzero(s * len(s) / np.sum(s) > U)
            u, v, S = u[:, keep], v[:, keep], S[keep]
    else:
        d = np.diag(Xr)[: min(m, n)] if m and n else np.zeros(0)
        order = np.argsort(-d, kind="stable")
        S = d[order]
        u = np.eye(m, n)[:, order]
        v = np.eye(n, n)[:, order]
        s = S**2
        keep = np.flatnonzero(s * len(s) / np.sum(s) > U)
        u, v, S = u[:, keep], v[:, keep], S[keep]
    Uo = np.zeros((M, len(S)))
    Vo = np.zeros((N, len(S)))
    if len(S):
        Uo[p, :] = u
        Vo[q, :] = v
    return Uo, S, Vo


def spm_sqrtm(V) -> np.ndarray:
    r"""Matrix square root of a symmetric matrix, SPM12 ``spm_sqrtm.m``.

    .. math:: V^{1/2} = u\,\mathrm{diag}(\sqrt{|s|})\,u^T, \qquad [u, s] = \mathrm{spm\_svd}(V, 0)
    """
    u, s, _ = spm_svd(V, 0)
    return (u * np.sqrt(np.abs(s))) @ u.T


def spm_orth(X, opt: str = "pad") -> np.ndarray:
    r"""Recursive Gram-Schmidt orthogonalisation of columns, SPM12 ``spm_orth.m``.

    Column by column, left to right: :math:`D \leftarrow D - x\,(x^+ D)`, with
    :math:`x` the columns kept so far (MATLAB ``pinv``); a column with
    :math:`\lVert D\rVert_1 \le e^{-32}` is dropped, and the loop stops once
    ``rank(X)`` columns are kept. ``opt='pad'`` returns the input's shape with zeros
    in the dropped columns; ``'norm'`` the kept columns normalised.
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim == 1:
        X = X[:, None]
    n, m = X.shape
    nonzero = X[:, np.any(X, axis=0)]
    if nonzero.shape[1] == 0:
        x, kept = np.zeros((n, 0)), []
    else:
        rank = matlab_rank(nonzero)
        x, kept = nonzero[:, [0]], [0]
        for i in range(1, nonzero.shape[1]):
            D = nonzero[:, [i]]
            D = D - x @ (matlab_pinv(x) @ D)
            if np.sum(np.abs(D)) > np.exp(-32):
                x = np.hstack([x, D])
                kept.append(i)
            if len(kept) == rank:
                break
    if opt == "pad":
        out = np.zeros((n, m))
        out[:, kept] = x
        return out
    if opt == "norm":
        return spm_en(x)
    return x


class SpmSpace:
    r"""The SVD description of a design space, SPM12 ``spm_sp('Set', X)``.

    :math:`X = u\,\mathrm{diag}(d)\,v^T` (thin SVD), tolerance
    :math:`\tau = \max(m, n) \max_i d_i\, \epsilon` and rank :math:`r = \#\{d_i > \tau\}`.
    The methods are ``spm_sp``'s actions of the same names.

    # SPM12 spm_sp.m: case 'set': [x.u, s, x.v] = svd(X, 0); x.tol = max(size(X))*max(x.ds)*eps
    """

    def __init__(self, X):
        X = np.atleast_2d(np.asarray(X, dtype=np.float64))
        self.X = X
        if X.shape[0] < X.shape[1]:
            v, d, ut = np.linalg.svd(X.T, full_matrices=False)
            u = ut.T
        else:
            u, d, vt = np.linalg.svd(X, full_matrices=False)
            v = vt.T
        self.u, self.ds, self.v = u, d, v
        self.tol = max(X.shape) * (float(np.max(np.abs(d))) if d.size else 0.0) * EPS
        self.rk = int(np.sum(d > self.tol))

    def ox(self) -> np.ndarray:
        """``spm_sp('ox')``: an orthonormal basis of the column space, :math:`u_r`."""
        if self.rk > 0:
            return self.u[:, : self.rk]
        return np.zeros((self.X.shape[0], 1))

    def pinv(self) -> np.ndarray:
        r"""``spm_sp('x-')``: :math:`X^+ = v_r\,\mathrm{diag}(1/d_r)\,u_r^T`."""
        r = self.rk
        if r == 0:
            return np.zeros(self.X.shape[::-1])
        return (self.v[:, :r] * (1.0 / self.ds[:r])) @ self.u[:, :r].T

    def cukx(self) -> np.ndarray:
        r"""``spm_sp('cukx')``: X in the basis u, :math:`\mathrm{diag}(d_r) v_r^T`."""
        r = self.rk
        return self.ds[:r, None] * self.v[:, :r].T

    def cukxp_tol(self, c) -> np.ndarray:
        r"""``spm_sp('cukxp-:', c)``: :math:`\mathrm{diag}(1/d_r) v_r^T c`, tiny entries zeroed."""
        r = self.rk
        y = (self.v[:, :r].T / self.ds[:r, None]) @ c
        y[np.abs(y) < self.tol] = 0
        return y

    def opp(self) -> np.ndarray:
        r"""``spm_sp('opp')``: the projector on the row space, :math:`v_r v_r^T`."""
        r = self.rk
        return self.v[:, :r] @ self.v[:, :r].T

    def isinspp(self, c) -> bool:
        """``spm_sp('isinspp', c)``: whether every column of ``c`` lies in the row space."""
        return bool(np.all(np.abs(self.opp() @ c - c) <= self.tol))

    def opp_tol(self, c) -> np.ndarray:
        """``spm_sp('opp:', c)``: ``c`` projected on the row space, tiny entries zeroed."""
        y = self.opp() @ c
        y[np.abs(y) < self.tol] = 0
        return y

    def res(self, Y, overwrite: bool = False) -> np.ndarray:
        r"""``spm_sp('r', Y)``: residuals :math:`(I - u_r u_r^T) Y`, in SPM's order.

        ``overwrite``: the residuals may be written over ``Y`` (a float64 array the
        caller no longer needs), the same numbers without a second array.
        # SPM12 spm_sp.m 'r': if rk < q - rk, Y - u*(u'*Y); else (I - u*u')*Y
        """
        r = self.rk
        q = self.X.shape[0]
        if r == 0:
            return Y
        if r < q - r:
            ur = self.u[:, :r]
            if overwrite and isinstance(Y, np.ndarray) and Y.dtype == np.float64:
                return np.subtract(Y, ur @ (ur.T @ Y), out=Y)
            out = ur @ (ur.T @ Y)  # Y - u (u' Y), written over the product
            return np.subtract(Y, out, out=out)
        R = np.eye(q) - self.u[:, :r] @ self.u[:, :r].T
        return R @ Y
