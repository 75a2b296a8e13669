"""Contrasts: expressions, t and F statistics, p-values and z-scores.

The statistics are written out here from the fitted ``beta``, ``sigma2`` and
the unscaled covariance of each whitened design (``fit.GLMFit``), so that
each number has one visible formula; ``tests/test_contrasts.py`` checks them
against statsmodels' own ``t_test`` and ``f_test`` voxel by voxel.
"""

from __future__ import annotations

import ast
import operator
from dataclasses import dataclass

import numpy as np
from scipy import stats

from refglm.exceptions import InputError

__all__ = [
    "ContrastResult",
    "expression_to_contrast_vector",
    "as_contrast_matrix",
    "is_estimable",
    "z_from_p",
    "compute_contrast",
    "STAT_TYPES",
    "Z_METHODS",
]

STAT_TYPES = ("t", "F")
Z_METHODS = ("isf_clipped", "two_tailed_ppf")

# nistats contrasts.py Contrast: tiny = 1e-50, dofmax = 1e10 (nilearn 0.14.1: the same)
TINY = 1e-50
DOFMAX = 1e10
# nistats utils.py / nilearn glm/_utils.py z_score: np.clip(p, 1e-300, 1 - 1e-16)
P_CLIP_LOW = 1.0e-300
P_CLIP_HIGH = 1.0 - 1.0e-16

_BINOPS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}
_UNARY = {ast.UAdd: operator.pos, ast.USub: operator.neg}
#: Longest contrast expression parsed (Python's parser recurses on long chains).
MAX_EXPRESSION_LENGTH = 10_000


def expression_to_contrast_vector(expression: str, design_columns) -> np.ndarray:
    r"""Turn ``"active - rest"`` into a weight vector over the design's columns.

    Each column name stands for the unit vector :math:`e_k`; the expression is
    evaluated with ``+ - * /``, numbers and parentheses only, so
    ``"2 * active - 0.5 * (rest + constant)"`` is valid.
    # nistats contrasts.py expression_to_contrast_vector evaluated the string
    # with pandas.DataFrame.eval on an identity matrix; this parser accepts the
    # same arithmetic without executing code.

    Raises
    ------
    InputError
        For an empty or malformed expression, an unknown column name, or a
        result that is not linear in the columns (e.g. ``active * rest``).
    """
    columns = [str(c) for c in design_columns]
    if not isinstance(expression, str) or not expression.strip():
        raise InputError(
            f"contrast {expression!r}: expected an expression over the design columns "
            f"({', '.join(columns)}), found an empty value; write e.g. 'active - rest'."
        )
    if expression.strip() in columns:
        vec = np.zeros(len(columns))
        vec[columns.index(expression.strip())] = 1.0
        return vec
    if len(expression) > MAX_EXPRESSION_LENGTH:
        raise InputError(
            f"contrast {expression[:40]!r}...: expected an expression of at most "
            f"{MAX_EXPRESSION_LENGTH} characters, found {len(expression)}; simplify it, or "
            "pass a vector of weights."
        )
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except (SyntaxError, ValueError) as exc:
        raise InputError(
            f"contrast {expression!r}: expected an arithmetic expression over the design "
            f"columns, found a syntax error ({exc.msg if hasattr(exc, 'msg') else exc}); "
            "write e.g. 'active - rest'."
        ) from None
    except (RecursionError, MemoryError):  # the parser's own limits on nesting
        raise InputError(
            f"contrast {expression[:40]!r}...: expected a simple expression, found one "
            "nested too deeply for the parser; simplify it."
        ) from None
    identity = {name: np.eye(len(columns))[k] for k, name in enumerate(columns)}

    def ev(node):
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
            if isinstance(node.value, bool):
                raise _bad(node)
            try:
                return float(node.value)
            except OverflowError:
                raise _bad(node, "the number is too large for a float") from None
        if isinstance(node, ast.Name):
            if node.id not in identity:
                raise InputError(
                    f"contrast {expression!r}: unknown column {node.id!r}; expected one of "
                    f"{', '.join(columns)}. Check the spelling against the design matrix."
                )
            return identity[node.id]
        if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
            return _UNARY[type(node.op)](ev(node.operand))
        if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            left, right = ev(node.left), ev(node.right)
            if isinstance(node.op, ast.Mult) and np.ndim(left) and np.ndim(right):
                raise _bad(node, "a product of two columns is not linear")
            if isinstance(node.op, ast.Div):
                if np.ndim(right):
                    raise _bad(node, "division by a column is not linear")
                if right == 0:
                    raise _bad(node, "division by zero")
            return _BINOPS[type(node.op)](left, right)
        raise _bad(node)

    def _bad(node, why="only column names, numbers, + - * / and parentheses are allowed"):
        snippet = ast.get_source_segment(expression.strip(), node) or type(node).__name__
        return InputError(
            f"contrast {expression!r}: cannot use {snippet!r} ({why}); "
            "write a linear combination such as 'active - rest'."
        )

    try:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            value = ev(tree)
    except RecursionError:
        raise InputError(
            f"contrast {expression[:40]!r}...: expression nested too deeply; simplify it."
        ) from None
    if np.ndim(value) == 0:
        raise InputError(
            f"contrast {expression!r}: expected an expression naming design columns, "
            "found a plain number; write e.g. 'active - rest'."
        )
    if not np.all(np.isfinite(value)):
        raise InputError(
            f"contrast {expression!r}: expected finite weights, found NaN or Inf (a number "
            "too large or too small?); write e.g. 'active - rest'."
        )
    return np.asarray(value, dtype=np.float64)


def as_contrast_matrix(contrast_def, design_columns) -> np.ndarray:
    """A contrast (expression, vector, matrix or list of rows) as a 2-D float array.

    Raises InputError for the wrong number of columns, non-finite or all-zero
    weights.
    """
    columns = list(design_columns)
    if isinstance(contrast_def, str):
        C = expression_to_contrast_vector(contrast_def, columns)[None]
    else:
        rows = contrast_def
        if isinstance(rows, list | tuple) and rows and all(isinstance(r, str) for r in rows):
            C = np.vstack([expression_to_contrast_vector(r, columns) for r in rows])
        else:
            try:
                C = np.atleast_2d(np.asarray(rows, dtype=np.float64))
            except (TypeError, ValueError):
                raise InputError(
                    f"contrast: expected a string, vector or matrix of numbers, found "
                    f"{type(contrast_def).__name__}; pass e.g. 'active - rest' or a vector of "
                    f"length {len(columns)}."
                ) from None
    if C.ndim != 2 or C.shape[1] != len(columns):
        raise InputError(
            f"contrast: expected {len(columns)} weights (one per design column: "
            f"{', '.join(map(str, columns))}), found shape {C.shape}; pad or trim the vector "
            "to the design's columns, or use an expression."
        )
    if not np.all(np.isfinite(C)):
        raise InputError("contrast: expected finite weights, found NaN or Inf; fix the vector.")
    if not np.any(C):
        raise InputError(
            "contrast: expected at least one non-zero weight, found all zeros; "
            "an all-zero contrast tests nothing."
        )
    return C


def is_estimable(C: np.ndarray, X: np.ndarray, tol: float = 1e-8) -> bool:
    r"""Whether every row of ``C`` lies in the row space of ``X``.

    .. math:: C\,(I - X^+ X) = 0
    """
    X = np.asarray(X, dtype=np.float64)
    P = np.eye(X.shape[1]) - np.linalg.pinv(X) @ X
    scale = max(1.0, float(np.abs(C).max()))
    return bool(np.abs(np.atleast_2d(C) @ P).max() <= tol * scale)


def z_from_p(
    p_value, method: str = "isf_clipped", stat=None, df=None, one_minus_p=None
) -> np.ndarray:
    r"""Convert p-values to z-scores, by the convention's ``z_method``.

    With :math:`\mathrm{clip}(x) = \min(\max(x, 10^{-300}), 1 - 10^{-16})`:

    - ``'isf_clipped'``: :math:`z = \Phi^{-1}(1 - \mathrm{clip}(p))` (``norm.isf``);
      # nistats utils.py z_score: norm.isf(np.minimum(np.maximum(p, 1e-300), 1 - 1e-16))
    - ``'two_tailed_ppf'``: the same where it is :math:`\ge 0`; where it is negative
      (:math:`p > 1/2`), :math:`z = \Phi^{-1}(\mathrm{clip}(1 - p))` (``norm.ppf``) with
      :math:`1 - p` computed directly as a CDF, so that the lower tail does not
      saturate at :math:`\Phi^{-1}(10^{-16}) \approx -8.2`;
      # nilearn 0.14.1 glm/_utils.py z_score(pvalue, one_minus_pvalue) (PR #2567):
      # use_cdf = norm.isf(clip(p)) < 0; z[use_cdf] = norm.ppf(clip(one_minus_p))[use_cdf]

    Parameters
    ----------
    p_value : array_like
        Upper-tail p-values (survival function of the statistic).
    method : {'isf_clipped', 'two_tailed_ppf'}
    stat, df : array_like, optional
        A t statistic and its degrees of freedom; used by ``'two_tailed_ppf'`` to
        compute :math:`1 - p = F_{t,\nu}(t)` when ``one_minus_p`` is not given.
    one_minus_p : array_like, optional
        The CDF of the statistic (nilearn ``Contrast.one_minus_pvalue``).

    Returns
    -------
    z : ndarray, float64
    """
    p_value = np.asarray(p_value, dtype=np.float64)
    if method not in Z_METHODS:
        raise InputError(
            f"z_method: expected one of {Z_METHODS}, found {method!r}; pick a name from "
            "refglm.contrasts.Z_METHODS."
        )
    z_sf = stats.norm.isf(np.minimum(np.maximum(p_value, P_CLIP_LOW), P_CLIP_HIGH))
    if method == "isf_clipped":
        return z_sf
    if one_minus_p is None:
        if stat is None:
            return z_sf
        stat = np.asarray(stat, dtype=np.float64)
        one_minus_p = stats.t.cdf(stat, np.minimum(df, DOFMAX))
    one_minus_p = np.asarray(one_minus_p, dtype=np.float64)
    z_cdf = stats.norm.ppf(np.clip(one_minus_p, P_CLIP_LOW, P_CLIP_HIGH))
    return np.where(z_sf < 0, z_cdf, z_sf)


@dataclass
class ContrastResult:
    """A contrast evaluated at every voxel.

    Attributes
    ----------
    stat_type : {'t', 'F'}
    effect : ndarray, shape (q, n_voxels)
    variance : ndarray, shape (q, q, n_voxels)
    stat, p_value, z_score : ndarray, shape (n_voxels,)
    df : ndarray, shape (n_voxels,)
    """

    stat_type: str
    contrast: np.ndarray
    effect: np.ndarray
    variance: np.ndarray
    stat: np.ndarray
    p_value: np.ndarray
    z_score: np.ndarray
    df: np.ndarray

    def output(self, output_type: str) -> np.ndarray:
        """One output map, by nilearn's ``output_type`` name."""
        if output_type == "z_score":
            return self.z_score
        if output_type == "stat":
            return self.stat
        if output_type == "p_value":
            return self.p_value
        if output_type == "effect_size":
            return self.effect[0] if self.effect.shape[0] == 1 else self.effect
        if output_type == "effect_variance":
            return self.variance[0, 0] if self.variance.shape[0] == 1 else self.variance
        raise InputError(
            f"output_type: expected one of z_score, stat, p_value, effect_size, "
            f"effect_variance; found {output_type!r}"
        )


def compute_contrast(fit, C, stat_type=None, z_method: str = "isf_clipped") -> ContrastResult:
    r"""t or F statistic of the contrast ``C`` at every voxel.

    With :math:`V_v = (\tilde X^T \tilde X)^+` of voxel v's whitened design
    (``fit.cov_unscaled[fit.labels[v]]``):

    t (one row :math:`c`):

    .. math::
        e_v = c\hat\beta_v,\quad s^2_v = c V_v c^T \hat\sigma^2_v,\quad
        t_v = e_v / \sqrt{\max(s^2_v, 10^{-50})},\quad p_v = 1 - F_{t,\nu}(t_v)

    F (q rows :math:`C`):

    .. math::
        F_v = \frac{(C\hat\beta_v)^T (C V_v C^T \hat\sigma^2_v)^{-1} (C\hat\beta_v)}{q},\quad
        p_v = 1 - F_{F,q,\nu}(F_v)

    and z from p by :func:`z_from_p` with the convention's ``z_method``, for t and F
    alike (nilearn's ``one_minus_pvalue`` is the t or F CDF).
    # nistats contrasts.py compute_contrast + Contrast.stat/p_value/z_score;
    # regression.py Tcontrast/Fcontrast (vcov = C cov C^T * dispersion)

    Parameters
    ----------
    fit : refglm.fit.GLMFit
    C : ndarray, shape (q, n_regressors)
        From :func:`as_contrast_matrix`.
    stat_type : {'t', 'F'} or None
        Default 't' for one row, 'F' for more (nistats).
    z_method : {'isf_clipped', 'two_tailed_ppf'}
        See :func:`z_from_p`.
    """
    if z_method not in Z_METHODS:
        raise InputError(
            f"z_method: expected one of {Z_METHODS}, found {z_method!r}; pick a name from "
            "refglm.contrasts.Z_METHODS."
        )
    C = np.atleast_2d(np.asarray(C, dtype=np.float64))
    q = C.shape[0]
    if stat_type is None:
        stat_type = "t" if q == 1 else "F"
    if stat_type not in STAT_TYPES:
        raise InputError(f"stat_type: expected 't' or 'F', found {stat_type!r}")
    if stat_type == "t" and q != 1:
        raise InputError(
            f"contrast: a t contrast has one row, found {q}; use stat_type='F' for several rows."
        )
    effect = C @ fit.beta  # (q, v)
    ccov = np.einsum("ip,kpr,jr->kij", C, fit.cov_unscaled, C)  # (n_models, q, q)
    variance = np.moveaxis(ccov[fit.labels], 0, -1) * fit.sigma2  # (q, q, v)
    df = np.minimum(fit.df_resid, DOFMAX)
    if stat_type == "t":
        stat = effect[0] / np.sqrt(np.maximum(variance[0, 0], TINY))
        p_value = stats.t.sf(stat, df)
        one_minus_p = stats.t.cdf(stat, df) if z_method == "two_tailed_ppf" else None
    else:
        inv = np.linalg.inv(np.moveaxis(variance, -1, 0))  # (v, q, q)
        stat = np.einsum("iv,vij,jv->v", effect, inv, effect) / q
        p_value = stats.f.sf(stat, q, df)
        one_minus_p = stats.f.cdf(stat, q, df) if z_method == "two_tailed_ppf" else None
    z = z_from_p(p_value, z_method, one_minus_p=one_minus_p)
    return ContrastResult(stat_type, C, effect, variance, stat, p_value, z, fit.df_resid)
