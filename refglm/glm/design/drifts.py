"""Drift regressors: cosine (DCT-II) and polynomial bases, and the constant.

Reproduces nistats 0.0.1rc0 ``nistats/design_matrix.py`` (``_cosine_drift``,
``_poly_drift``, ``_none_drift``, ``_make_drift``); nilearn 0.14.1 is identical
(``nilearn.signal.create_cosine_drift``, ``nilearn/glm/first_level/design_matrix.py``),
so no convention choice acts here. Public names are re-exported by
:mod:`refglm.glm.design.matrix`.
"""

from __future__ import annotations

import warnings

import numpy as np

from refglm._validate import check_positive, input_error, is_whole_number
from refglm.glm.design._validate import check_frame_times, check_model
from refglm.glm.design.sampling import orthogonalize

__all__ = ["DRIFT_MODELS", "make_drift"]

#: Accepted values of ``drift_model`` (strings are compared in lower case).
DRIFT_MODELS = ("cosine", "polynomial", None)


def _cosine_drift(high_pass: float, frame_times: np.ndarray) -> np.ndarray:
    """DCT-II drift basis below ``high_pass`` plus a constant column.

    Parameters
    ----------
    high_pass : float
        Cut-off frequency in Hz (> 0).
    frame_times : ndarray of shape (n,)
        Acquisition times in seconds.

    Returns
    -------
    drift : ndarray of shape (n, order + 1)
        ``drift[j, k-1] = sqrt(2/n) cos(pi/n (j + 1/2) k)`` for ``k = 1 .. order``,
        ``order = min(n - 1, floor(2 n high_pass dt))``, ``dt = (t_{n-1} - t_0)/(n - 1)``;
        the last column is 1.

    Notes
    -----
    Source: nistats 0.0.1rc0 design_matrix.py ``_cosine_drift``; nilearn 0.14.1
    ``nilearn.signal.create_cosine_drift`` identical.
    """
    n_frames = len(frame_times)
    n_times = np.arange(n_frames)
    dt = (frame_times[-1] - frame_times[0]) / (n_frames - 1)
    if high_pass * dt >= 0.5:
        warnings.warn(
            "High-pass filter will span all accessible frequencies and saturate the design "
            f"matrix (high_pass={high_pass} Hz, t_r={dt} s); reduce high_pass.",
            UserWarning,
            stacklevel=3,
        )
    order = np.minimum(n_frames - 1, int(np.floor(2 * n_frames * high_pass * dt)))
    cosine_drift = np.zeros((n_frames, order + 1))
    normalizer = np.sqrt(2.0 / n_frames)
    for k in range(1, order + 1):
        cosine_drift[:, k - 1] = normalizer * np.cos((np.pi / n_frames) * (n_times + 0.5) * k)
    cosine_drift[:, -1] = 1.0
    return cosine_drift


def _poly_drift(order: int, frame_times: np.ndarray) -> np.ndarray:
    """Orthogonalised polynomial drifts of degree 1 .. order plus a constant column.

    Parameters
    ----------
    order : int
        Highest polynomial degree (>= 0).
    frame_times : ndarray of shape (n,)
        Acquisition times in seconds (last > 0).

    Returns
    -------
    drift : ndarray of shape (n, order + 1)
        Columns ``(t / t_max)^k`` for ``k = 0 .. order`` orthogonalised in that order with
        ``orthogonalize`` (not normalised), then the ``k = 0`` (constant) column moved last.

    Notes
    -----
    Source: nistats 0.0.1rc0 design_matrix.py ``_poly_drift``:
    ``pol[:, k] = (frame_times / tmax) ** k; pol = _orthogonalize(pol);
    pol = np.hstack((pol[:, 1:], pol[:, :1]))``; nilearn 0.14.1 identical.
    """
    order = int(order)
    pol = np.zeros((np.size(frame_times), order + 1))
    tmax = float(frame_times.max())
    for k in range(order + 1):
        pol[:, k] = (frame_times / tmax) ** k
    pol = orthogonalize(pol)
    pol = np.hstack((pol[:, 1:], pol[:, :1]))
    return pol


def _none_drift(frame_times: np.ndarray) -> np.ndarray:
    """Constant column ``ones(n, 1)`` (nistats 0.0.1rc0 design_matrix.py ``_none_drift``)."""
    return np.reshape(np.ones_like(frame_times), (np.size(frame_times), 1))


def _check_drift_model(drift_model: object) -> str | None:
    return check_model(drift_model, DRIFT_MODELS, "drift_model", "cosine")


def make_drift(
    drift_model: str | None,
    frame_times: np.ndarray,
    drift_order: int = 1,
    high_pass: float = 0.01,
) -> tuple[np.ndarray, list[str]]:
    """Drift regressors and their names.

    Parameters
    ----------
    drift_model : {'cosine', 'polynomial', None}
        Drift basis (case-insensitive).
    frame_times : array of shape (n_scans,)
        Acquisition times in seconds.
    drift_order : int, default=1
        Polynomial degree, used when ``drift_model='polynomial'`` (whole number >= 0).
    high_pass : float, default=0.01
        Cut-off in Hz, used when ``drift_model='cosine'`` (> 0).

    Returns
    -------
    drift : ndarray of shape (n_scans, n_drifts)
        ``_cosine_drift``, ``_poly_drift`` or ``_none_drift``; the last column is the
        constant.
    names : list of str
        ``['drift_1', ..., 'drift_{n_drifts-1}', 'constant']``.

    Notes
    -----
    Source: nistats 0.0.1rc0 design_matrix.py ``_make_drift`` (names ``'drift_%d' % k``
    then ``'constant'``); nilearn 0.14.1 identical.
    """
    drift_model = _check_drift_model(drift_model)
    frame_times = check_frame_times(frame_times)
    if drift_model == "polynomial":
        if not is_whole_number(drift_order, 0):
            raise input_error(
                "drift_order",
                "a whole number >= 0",
                repr(drift_order),
                "pass e.g. drift_order=1 (linear drift)",
            )
        drift = _poly_drift(int(drift_order), frame_times)
    elif drift_model == "cosine":
        high_pass = check_positive(
            high_pass, "high_pass", "pass the cut-off frequency in Hz, e.g. high_pass=0.01 (100 s)"
        )
        drift = _cosine_drift(high_pass, frame_times)
    else:
        drift = _none_drift(frame_times)
    names = [f"drift_{k:d}" for k in range(1, drift.shape[1])]
    names.append("constant")
    return drift, names
