"""Contrast definitions: expressions such as ``"active - rest"`` and matrices.

:func:`expression_to_contrast_vector` parses an expression over the design's
column names (a restricted Python grammar: names, numbers, ``+ - * /`` and
parentheses; a column whose name is not an identifier is quoted in backticks,
```button press` - rest``, as in nilearn 0.14.1); :func:`as_contrast_matrix`
turns any accepted definition (expression, list of expressions, vector, matrix)
into the matrix ``C`` the
statistics of :mod:`refglm.glm.contrasts` use. Re-exported there.
"""

from __future__ import annotations

import ast
import keyword
import operator
import re
import unicodedata

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


def is_plain_name(name: str) -> bool:
    """Whether ``name`` can stand bare in an expression (a Python identifier, not a keyword).

    Any other column name (``'button press'``, ``'active-rest'``, ``'2back'``,
    ``'None'``) is written in backticks: ```button press` - rest``.
    """
    name = str(name)
    return (
        name.isidentifier()
        and not keyword.iskeyword(name)
        and unicodedata.normalize("NFKC", name) == name  # ast folds identifiers to NFKC
    )


def quoted(name: str) -> str:
    """``name`` as an expression writes it: bare when it can be, else in backticks."""
    return str(name) if is_plain_name(name) else f"`{name}`"


def _segments(expression: str) -> list[tuple[str, bool]]:
    """``expression`` cut at its backticks: ``[(text, is_quoted), ...]``.

    Raises InputError for an unclosed backtick.
    """
    parts = expression.split("`")
    if len(parts) % 2 == 0:
        raise InputError(
            f"contrast {expression!r}: expected every backtick-quoted column name to be "
            "closed, found an odd number of backticks; write e.g. `button press` - rest."
        )
    return [(part, k % 2 == 1) for k, part in enumerate(parts)]


def _with_names_quoted(expression: str, columns) -> str | None:
    """``expression`` with the unquoted occurrences of non-identifier columns backticked.

    An occurrence must stand alone (not inside a longer name). None when no such
    column occurs in the unquoted text.
    """
    unusual = sorted((c for c in columns if not is_plain_name(c) and "`" not in c), key=len)
    if not unusual:
        return None
    pattern = re.compile(
        r"(?<![\w.])(" + "|".join(re.escape(c) for c in reversed(unusual)) + r")(?![\w])"
    )
    changed, pieces = False, []
    for text, is_quoted in _segments(expression):
        if is_quoted:
            pieces.append(f"`{text}`")
            continue
        new = pattern.sub(lambda m: f"`{m.group(1)}`", text)
        changed = changed or new != text
        pieces.append(new)
    return "".join(pieces) if changed else None


class _Reading:
    """One parse of an expression: its weights, or why it has none."""

    def __init__(self, vector=None, error: InputError | None = None, arithmetic: bool = False):
        self.vector = vector
        self.error = error
        #: whether the text parses in the arithmetic grammar (whatever its names)
        self.arithmetic = arithmetic


def _placeholder_prefix(columns) -> str:
    prefix = "refglm_quoted_"
    while any(str(c).startswith(prefix) for c in columns):
        prefix = "_" + prefix
    return prefix


def _read(expression: str, columns: list[str]) -> _Reading:
    """Parse and evaluate ``expression`` over ``columns`` (backtick-quoted names allowed)."""
    shown = expression.strip()
    try:
        segments = _segments(shown)
    except InputError as exc:
        return _Reading(error=exc)
    prefix = _placeholder_prefix(columns)
    names: dict[str, str] = {}
    text = []
    for part, is_quoted in segments:
        if is_quoted:
            key = f"{prefix}{len(names)}"
            names[key] = part
            text.append(key)
        else:
            text.append(part)
    source = "".join(text)

    def unquote(snippet: str) -> str:
        for key, name in names.items():
            snippet = snippet.replace(key, f"`{name}`")
        return snippet

    try:
        tree = ast.parse(source, mode="eval")
    except (SyntaxError, ValueError) as exc:
        return _Reading(
            error=InputError(
                f"contrast {expression!r}: expected an arithmetic expression over the design "
                f"columns, found a syntax error ({exc.msg if hasattr(exc, 'msg') else exc}); "
                "write e.g. 'active - rest'."
            )
        )
    except (RecursionError, MemoryError):  # the parser's own limits on nesting
        return _Reading(
            error=InputError(
                f"contrast {expression[:40]!r}...: expected a simple expression, found one "
                "nested too deeply for the parser; simplify it."
            )
        )
    arithmetic = all(
        isinstance(node, ast.Expression | ast.BinOp | ast.UnaryOp | ast.Name | ast.Constant)
        or type(node) in _BINOPS
        or type(node) in _UNARY
        or isinstance(node, ast.Load)
        for node in ast.walk(tree)
    ) and not isinstance(tree.body, ast.Name | ast.Constant)
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
            column = names.get(node.id, node.id)
            if column not in identity:
                raise InputError(
                    f"contrast {expression!r}: unknown column {column!r}; expected one of "
                    f"{', '.join(quoted(c) for c in columns)}. Check the spelling against "
                    "the design matrix."
                )
            return identity[column]
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
        snippet = unquote(ast.get_source_segment(source, node) or type(node).__name__)
        return InputError(
            f"contrast {expression!r}: cannot use {snippet!r} ({why}); "
            "write a linear combination such as 'active - rest'."
        )

    try:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            value = ev(tree)
    except RecursionError:
        return _Reading(
            error=InputError(
                f"contrast {expression[:40]!r}...: expression nested too deeply; simplify it."
            ),
            arithmetic=arithmetic,
        )
    except InputError as exc:
        return _Reading(error=exc, arithmetic=arithmetic)
    if np.ndim(value) == 0:
        return _Reading(
            error=InputError(
                f"contrast {expression!r}: expected an expression naming design columns, "
                "found a plain number; write e.g. 'active - rest'."
            ),
            arithmetic=arithmetic,
        )
    if not np.all(np.isfinite(value)):
        return _Reading(
            error=InputError(
                f"contrast {expression!r}: expected finite weights, found NaN or Inf (a number "
                "too large or too small?); write e.g. 'active - rest'."
            ),
            arithmetic=arithmetic,
        )
    return _Reading(vector=np.asarray(value, dtype=np.float64), arithmetic=arithmetic)


def _weights_words(vector, columns) -> str:
    """``'active - rest'``: a weight vector written back as an expression."""
    terms = []
    for weight, column in zip(vector, columns, strict=True):
        if weight == 0:
            continue
        size = abs(float(weight))
        coefficient = "" if size == 1 else f"{size:g} * "
        sign = "-" if weight < 0 else "+"
        terms.append((sign, f"{coefficient}{quoted(column)}"))
    if not terms:
        return "0"
    first_sign, first = terms[0]
    text = ("-" if first_sign == "-" else "") + first
    return text + "".join(f" {sign} {term}" for sign, term in terms[1:])


def expression_to_contrast_vector(expression: str, design_columns) -> np.ndarray:
    r"""Turn ``"active - rest"`` into a weight vector over the design's columns.

    Each column name stands for the unit vector :math:`e_k`; the expression is
    evaluated with ``+ - * /``, numbers and parentheses only, so
    ``"2 * active - 0.5 * (rest + constant)"`` is valid. A column whose name is not
    a Python identifier is written in backticks, as in nilearn 0.14.1 (pandas'
    ``DataFrame.eval``): ```button press` - rest``.
    # nistats contrasts.py expression_to_contrast_vector evaluated the string
    # with pandas.DataFrame.eval on an identity matrix; this parser accepts the
    # same arithmetic without executing code.

    An expression is refused when it has two meanings: it is a column's name
    (``'active-rest'``) and also reads as arithmetic (``active - rest``), or a
    column's name stands unquoted in it while the rest reads either way
    (``'active-rest + x'``). The message names both readings and how to write
    each. A column named by the whole expression that does not read as
    arithmetic (``'button press'``) is that column, as in nilearn.

    Raises
    ------
    InputError
        For an empty or malformed expression, an unknown column name, a result
        that is not linear in the columns (e.g. ``active * rest``), or an
        expression with two readings.
    """
    columns = [str(c) for c in design_columns]
    if not isinstance(expression, str) or not expression.strip():
        raise InputError(
            f"contrast {expression!r}: expected an expression over the design columns "
            f"({', '.join(columns)}), found an empty value; write e.g. 'active - rest'."
        )
    if len(expression) > MAX_EXPRESSION_LENGTH:
        raise InputError(
            f"contrast {expression[:40]!r}...: expected an expression of at most "
            f"{MAX_EXPRESSION_LENGTH} characters, found {len(expression)}; simplify it, or "
            "pass a vector of weights."
        )
    text = expression.strip()
    if text in columns:
        column_vector = np.zeros(len(columns))
        column_vector[columns.index(text)] = 1.0
        if "`" in text or is_plain_name(text):
            return column_vector
        reading = _read(text, columns)
        if not reading.arithmetic:
            return column_vector  # 'button press', 'face(1)': one reading only
        spaced = ast.unparse(ast.parse(text, mode="eval"))
        if reading.vector is not None:
            other = f"the arithmetic {_weights_words(reading.vector, columns)}"
            fix = f", or {spaced!r} (spaced) for the arithmetic"
        else:
            other = f"the arithmetic {spaced} (not a valid contrast of this design)"
            fix = f": unquoted, it reads as {spaced}, and would name the outputs as such"
        raise InputError(
            f"contrast {expression!r}: expected one reading, found two: the column "
            f"{text!r}, and {other}; write `{text}` (in backticks) for the column{fix}."
        )
    alternative = _with_names_quoted(text, columns)
    reading = _read(text, columns)
    if reading.vector is not None:
        if alternative is not None:
            other = _read(alternative, columns)
            if other.vector is not None and not np.array_equal(other.vector, reading.vector):
                raise InputError(
                    f"contrast {expression!r}: expected one reading, found two: "
                    f"{_weights_words(other.vector, columns)} (with the column(s) "
                    f"{_unquoted_columns(text, alternative, columns)}), and "
                    f"{_weights_words(reading.vector, columns)} (arithmetic); write "
                    f"{alternative!r} for the first, or "
                    f"{_weights_words(reading.vector, columns)!r} for the second."
                )
        return reading.vector
    if alternative is not None:
        other = _read(alternative, columns)
        names = _unquoted_columns(text, alternative, columns)
        if other.vector is not None:
            raise InputError(
                f"contrast {expression!r}: expected column names that are identifiers or "
                f"are quoted, found {names}, not a valid Python identifier, unquoted; write "
                f"it in backticks: {alternative}"
            )
        raise InputError(
            f"{reading.error} (The column(s) {names} are not valid Python identifiers: "
            f"write them in backticks, as in {alternative}.)"
        )
    unusual = [c for c in columns if not is_plain_name(c)]
    if unusual and "syntax error" in str(reading.error):
        shown = ", ".join(quoted(c) for c in unusual[:5])
        raise InputError(
            f"{reading.error} (Columns whose names are not Python identifiers are written "
            f"in backticks: {shown}.)"
        )
    raise reading.error


def _unquoted_columns(text: str, alternative: str, columns) -> str:
    """The non-identifier columns that :func:`_with_names_quoted` quoted, for a message."""
    found = [c for c in columns if not is_plain_name(c) and f"`{c}`" in alternative]
    found = [c for c in found if f"`{c}`" not in text] or found
    return ", ".join(repr(c) for c in found)


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
