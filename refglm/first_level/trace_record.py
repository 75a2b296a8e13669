"""The record of a traced voxel: its steps, their values and their plain-text table.

:class:`VoxelTrace` holds every intermediate number of one voxel's fit
(:func:`refglm.first_level.trace.trace_voxel` fills it); :func:`format_value` prints them.
This module holds numerics only: no file input or output, no plotting.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = ["TraceStep", "VoxelTrace", "format_value"]


@dataclass
class TraceStep:
    """One traced quantity: a name, the formula that produced it, and its value."""

    name: str
    formula: str
    value: object


@dataclass
class VoxelTrace:
    """Every intermediate number of one voxel's fit; see :func:`trace_voxel`.

    Arrays have one entry per scan (``n``) or per design column (``p``).
    """

    design: pd.DataFrame
    raw: np.ndarray
    mean: float
    scaled: np.ndarray
    ols_beta: np.ndarray
    ols_fitted: np.ndarray
    ols_resid: np.ndarray
    lag1_sum: float
    resid_ss: float
    rho_raw: float
    rho: float
    whitened: np.ndarray
    whitened_design: np.ndarray
    beta: np.ndarray
    whitened_fitted: np.ndarray
    whitened_resid: np.ndarray
    sigma2: float
    df: float
    cov_unscaled: np.ndarray
    contrast_name: str
    contrast: np.ndarray
    effect: float
    variance: float
    t: float
    p: float
    z: float
    f_contrast_name: str | None = None
    f_contrast: np.ndarray | None = None
    f: float | None = None
    f_p: float | None = None
    f_z: float | None = None
    noise_model: str = "ar1"
    convention: str = "nistats"
    steps: list[TraceStep] = field(default_factory=list)

    @property
    def fitted(self) -> np.ndarray:
        """Model prediction on the scaled (unwhitened) series, :math:`X\\tilde\\beta`."""
        return self.design.to_numpy(dtype=np.float64) @ self.beta

    def as_dict(self) -> dict:
        """Every number of the trace as plain Python values (for JSON), vectors in full.

        Enough to recompute each step by hand: ``raw`` (y) gives ``mean``;
        ``design`` (X, its rows with ``columns``) and ``scaled`` (s) the OLS
        fit (``ols_beta``, ``ols_fitted``, ``ols_resid``), whose residuals
        give ``lag1_sum``, ``resid_ss`` and rho; ``whitened`` (s~) and
        ``whitened_design`` (X~) give ``beta`` (b~), ``whitened_fitted`` and
        ``whitened_resid`` (e~), hence ``sigma2`` = sum(e~^2) / ``df``; with
        ``cov_unscaled`` ((X~'X~)^+) the contrast's variance, t, p and z.
        ``steps`` lists every printed step with its formula and full value.
        Floats are float64 (float32 inputs converted exactly); JSON keeps
        all 17 significant digits.
        """
        cols = [str(c) for c in self.design.columns]
        out = {
            "convention": self.convention,
            "noise_model": self.noise_model,
            "columns": cols,
            "design": _matrix(self.design.to_numpy(dtype=np.float64), cols),
            "frame_times": _floats(self.design.index.to_numpy(dtype=np.float64)),
            "raw": _floats(self.raw),
            "mean": float(self.mean),
            "scaled": _floats(self.scaled),
            "ols_beta": dict(zip(cols, map(float, self.ols_beta), strict=True)),
            "ols_fitted": _floats(self.ols_fitted),
            "ols_resid": _floats(self.ols_resid),
            "lag1_sum": float(self.lag1_sum),
            "resid_ss": float(self.resid_ss),
            "rho_raw": float(self.rho_raw),
            "rho": float(self.rho),
            "whitened": _floats(self.whitened),
            "whitened_design": _matrix(self.whitened_design, cols),
            "beta": dict(zip(cols, map(float, self.beta), strict=True)),
            "whitened_fitted": _floats(self.whitened_fitted),
            "whitened_resid": _floats(self.whitened_resid),
            "sigma2": float(self.sigma2),
            "df": float(self.df),
            "cov_unscaled": _matrix(self.cov_unscaled, cols),
            "contrast": {
                "name": self.contrast_name,
                "weights": _floats(self.contrast),
                "effect": float(self.effect),
                "variance": float(self.variance),
                "t": float(self.t),
                "p": float(self.p),
                "z": float(self.z),
            },
            "steps": [
                {"name": s.name, "formula": s.formula, "value": _plain(s.value)} for s in self.steps
            ],
        }
        if self.f_contrast is not None:
            out["f_contrast"] = {
                "name": self.f_contrast_name,
                "weights": np.asarray(self.f_contrast, dtype=np.float64).tolist(),
                "F": float(self.f),
                "p": float(self.f_p),
                "z": float(self.f_z),
            }
        return out

    def table(self, width: int = 120, wide: bool = True) -> str:
        """The steps as a plain-text table: quantity, formula, value.

        ``wide`` (the default): one line a step, as wide as its formulas need (at least
        ``width``). Otherwise every line fits in ``width`` columns (``refglm
        explain-voxel`` prints 80): each step's name and value on one line (a long value
        wrapped under it, a long name on a line of its own), its formula indented below.
        """
        if not wide:
            return self._narrow_table(width)
        name_w = max(len(s.name) for s in self.steps)
        formula_w = max(len(s.formula) for s in self.steps)
        value_w = max(44, width - name_w - formula_w - 4)
        lines = [f"{'quantity':{name_w}s}  {'formula':{formula_w}s}  value"]
        lines.append("-" * min(width, name_w + formula_w + 4 + value_w))
        for step in self.steps:
            lines.append(
                f"{step.name:{name_w}s}  {step.formula:{formula_w}s}  "
                f"{format_value(step.value, value_w)}"
            )
        return "\n".join(lines)

    def _narrow_table(self, width: int) -> str:
        """:meth:`table` in ``width`` columns: ``name  value``, the formula indented below."""
        name_w = min(max(len(s.name) for s in self.steps), 24)
        value_w = width - name_w - 2
        pad = " " * (name_w + 2)
        lines = [f"{'quantity':{name_w}s}  value", "    formula", "-" * width]
        for step in self.steps:
            value = format_value(step.value, value_w)
            values = textwrap.wrap(value, value_w, break_on_hyphens=False) or [""]
            if len(step.name) > name_w:
                lines.append(step.name)
                lines += [pad + v for v in values]
            else:
                lines.append(f"{step.name:{name_w}s}  {values[0]}")
                lines += [pad + v for v in values[1:]]
            lines += textwrap.wrap(
                step.formula, width, initial_indent="    ", subsequent_indent="      "
            )
        return "\n".join(lines)


def _floats(values) -> list[float]:
    """A vector as Python floats (float64; float32 values converted exactly)."""
    return np.asarray(values, dtype=np.float64).ravel().tolist()


def _matrix(values, columns) -> dict:
    """A matrix as ``{"columns": [...], "rows": [[...], ...]}`` (one list per row)."""
    return {"columns": list(columns), "rows": np.asarray(values, dtype=np.float64).tolist()}


def _plain(value):
    """A step's value as JSON: text and integers as they are, numbers as float64 lists."""
    if isinstance(value, str | int | np.integer):
        return value if isinstance(value, str) else int(value)
    arr = np.asarray(value, dtype=np.float64)
    return float(arr) if arr.ndim == 0 else arr.tolist()


def format_value(value, width: int = 40) -> str:
    """Format a traced value: 6 decimals for floats, a head/tail summary for arrays.

    Floats are printed with 6 decimals (as the tutorial printed its z
    scores) when their magnitude is between 1e-3 and 1e6, and in scientific
    notation otherwise; arrays show as many leading entries as fit in
    ``width`` characters, the last entry and the length; matrices their
    shape and first row.
    """
    if isinstance(value, str):
        return value
    if isinstance(value, int | np.integer):
        return str(int(value))
    arr = np.asarray(value)
    if arr.ndim == 0:
        return _fmt_float(float(arr))
    if arr.ndim > 1:  # a matrix: its shape and its first row
        shape = " x ".join(str(n) for n in arr.shape)
        return f"{shape}, row 0: " + format_value(arr[0], width - len(shape) - 9)
    flat = arr.ravel()
    items = [_fmt_float(float(v), short=True) for v in flat]
    suffix = f"  (n={flat.size})"
    if len(", ".join(items)) + 2 + len(suffix) <= width:
        return "[" + ", ".join(items) + "]" + suffix
    budget = width - len(suffix) - len(items[-1]) - len("[, ..., ]")
    head = []
    for item in items[:-1]:
        if len(", ".join(head + [item])) > budget:
            break
        head.append(item)
    return "[" + ", ".join(head) + ", ..., " + items[-1] + "]" + suffix


def _fmt_float(v: float, short: bool = False) -> str:
    if v == 0 or not np.isfinite(v):
        return f"{v:g}"
    if 1e-3 <= abs(v) < 1e6:
        return f"{v:.3f}" if short else f"{v:.6f}"
    return f"{v:.2e}" if short else f"{v:.6e}"
