"""Contrast definitions: expressions such as ``"active - rest"`` and matrices.

:func:`expression_to_contrast_vector` parses an expression over the design's
column names (a restricted Python grammar: names, numbers, ``+ - * /`` and
parentheses); :func:`as_contrast_matrix` turns any accepted definition
(expression, list of expressions, vector, matrix) into the matrix ``C`` the
statistics of :mod:`refglm.glm.contrasts` use. Re-exported there.
"""

from __future__ import annotations

import ast
import operator

import numpy as np

from refglm.exceptions import InputError

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
    r"""A contrast (expression, vector, matrix or list of rows) as a 2-D float array.

    With :math:`e_k` the unit vector of design column k, the result is the
    :math:`q \times p` matrix :math:`C` whose rows are

    .. math:: c_i = \sum_{k=1}^{p} w_{ik}\, e_k^T, \qquad C = [c_1; \dots; c_q]

    where the weights :math:`w_{ik}` come from one expression (``"active - rest"``,
    :math:`q = 1`, by :func:`expression_to_contrast_vector`), a list of expressions
    (one row each: an F contrast), or numbers (a vector is one row, a matrix its rows).
    # nistats first_level_model.py FirstLevelModel.compute_contrast: a str goes
    # through expression_to_contrast_vector, an array is used as given (1-D: t,
    # 2-D: F). nistats reads a *list* as one contrast per run (fixed effects);
    # refglm fits one run, so a list of expressions is stacked as F rows, as the
    # tutorial's np.vstack((active, rest)) effects-of-interest matrix.

    Parameters
    ----------
    contrast_def : str, sequence of str, array_like of shape (p,) or (q, p)
    design_columns : sequence
        The design's column names, in order (:math:`p` of them).

    Returns
    -------
    C : ndarray of float64, shape (q, p)

    Raises
    ------
    InputError
        For the wrong number of columns, non-finite or all-zero weights, or a
        malformed expression (the message names the column or the token).
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
