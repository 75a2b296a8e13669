"""HRF shapes: the SPM and Glover gamma-difference HRFs.

Public names are re-exported by :mod:`refglm.glm.design.hrf`. ``formulas.HRF_CHOICES`` maps each
convention (``'nistats'``: nistats 0.0.1rc0 ``nistats/hemodynamic_models.py``;
``'nilearn'``: nilearn 0.14.1 ``nilearn/glm/first_level/hemodynamic_models.py``) to
its value for every HRF-level choice. Two of them shape the HRF itself:

``gamma_parametrisation``
    nistats 0.0.1rc0 ``_gamma_difference_hrf`` calls
    ``gamma.pdf(t, delay / dispersion, dt / dispersion)``. The third
    positional argument of ``scipy.stats.gamma.pdf(x, a, loc=0, scale=1)`` is
    ``loc``, so nistats evaluates a gamma density of shape
    ``delay / dispersion``, location ``dt / dispersion`` and unit scale
    (``'dispersion_divides_loc'``). nilearn PR #3297 (closes nilearn issue
    #3295) changed this to ``gamma.pdf(t, delay / dispersion, loc=dt,
    scale=dispersion)`` (``'dispersion_is_scale'``). Both agree whenever the
    dispersion is 1, i.e. for the SPM HRF and its time derivative.
``glover_ratio``
    Ratio of undershoot to peak in the Glover HRF and its dispersion
    derivative: 0.35 in nistats 0.0.1rc0 ``glover_hrf`` /
    ``glover_dispersion_derivative``; 0.48 since nilearn PR #4452 (closes
    nilearn issue #2981).

The other three (``t_r_estimate``, ``onset_accumulation``, ``n_hr_product``) act on
the event regressors and are described in :mod:`refglm.glm.design.sampling`.

Quirks shared by both conventions are reproduced, not corrected: the HRF time
grid is ``np.linspace(0, time_length, rint(time_length / dt))`` whose spacing
is ``time_length / (rint(time_length / dt) - 1)``, not ``dt``; the gamma
densities are shifted by one sample (``loc=dt``).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from refglm._validate import check_finite, check_positive, input_error
from refglm.glm.design._validate import check_oversampling, resolve_convention
from refglm.glm.design.formulas import HRF_CHOICES

__all__ = ["glover_hrf", "spm_hrf"]


# nistats 0.0.1rc0 / nilearn 0.14.1: SPM canonical parameters
# (_gamma_difference_hrf defaults: delay=6, undershoot=16, dispersion=1, u_dispersion=1,
# ratio=0.167) and Glover parameters (glover_hrf: delay=6, undershoot=12, dispersion=0.9,
# u_dispersion=0.9; ratio is a convention choice).
_SPM_PARAMETERS = {"delay": 6.0, "undershoot": 16.0, "dispersion": 1.0, "u_dispersion": 1.0}
_SPM_RATIO = 0.167
_GLOVER_PARAMETERS = {"delay": 6.0, "undershoot": 12.0, "dispersion": 0.9, "u_dispersion": 0.9}


def _check_t_r(t_r: object) -> float:
    return check_positive(t_r, "t_r", "pass the repetition time in seconds, e.g. t_r=2.0")


def _check_hrf_arguments(
    t_r: object,
    oversampling: object,
    time_length: object,
    onset: object,
    convention: str | Mapping,
) -> tuple[float, int, float, float, dict[str, object]]:
    """Check the arguments shared by the HRF functions; return them and the HRF choices."""
    t_r = _check_t_r(t_r)
    oversampling = check_oversampling(oversampling)
    time_length = check_positive(
        time_length, "time_length", "pass the kernel length in seconds, e.g. 32.0"
    )
    onset = check_finite(onset, "onset", "pass the HRF onset in seconds, e.g. 0.0")
    choices = resolve_convention(convention, HRF_CHOICES)
    return t_r, oversampling, time_length, onset, choices


def _gamma_difference_hrf(
    t_r: float,
    oversampling: int = 50,
    time_length: float = 32.0,
    onset: float = 0.0,
    delay: float = 6.0,
    undershoot: float = 16.0,
    dispersion: float = 1.0,
    u_dispersion: float = 1.0,
    ratio: float = 0.167,
    gamma_parametrisation: str = "dispersion_divides_loc",
) -> np.ndarray:
    """Sample a difference of two gamma densities on the oversampled grid and normalise it.

    Parameters
    ----------
    t_r : float
        Repetition time in seconds (already checked > 0).
    oversampling : int
        Temporal oversampling factor; the nominal sampling step is ``dt = t_r / oversampling``.
    time_length : float
        Length of the kernel in seconds.
    onset : float
        Shift of the time stamps in seconds.
    delay, undershoot : float
        Shape numerators of the peak and undershoot densities.
    dispersion, u_dispersion : float
        Dispersions of the peak and undershoot densities.
    ratio : float
        Weight of the undershoot density.
    gamma_parametrisation : {'dispersion_divides_loc', 'dispersion_is_scale'}
        How the dispersion enters ``scipy.stats.gamma.pdf`` (see the module docstring).

    Returns
    -------
    hrf : ndarray of shape (rint(time_length / dt),)
        Kernel normalised to sum 1.

    Notes
    -----
    With ``N = rint(time_length / dt)`` and ``t_j = j * time_length / (N - 1) - onset``,
    ``h_j = g(t_j; delay/dispersion, loc_1, s_1)
    - ratio * g(t_j; undershoot/u_dispersion, loc_2, s_2)``,
    ``hrf_j = h_j / sum_j h_j``, where ``g(t; a, loc, s) = ((t - loc)/s)^(a-1)
    exp(-(t - loc)/s) / (s Gamma(a))`` for ``t > loc`` and 0 otherwise.

    ``'dispersion_divides_loc'``: ``loc_1 = dt/dispersion``, ``loc_2 = dt/u_dispersion``,
    ``s_1 = s_2 = 1``. ``'dispersion_is_scale'``: ``loc_1 = loc_2 = dt``,
    ``s_1 = dispersion``, ``s_2 = u_dispersion``.
    """
    from scipy.stats import gamma  # on use: the module loads without it (refglm --help)

    # nistats 0.0.1rc0 hemodynamic_models.py _gamma_difference_hrf (lines 54-65):
    #   dt = tr / oversampling
    #   time_stamps = np.linspace(0, time_length, np.rint(float(time_length) / dt).astype(np.int))
    #   time_stamps -= onset
    #   hrf = gamma.pdf(time_stamps, delay / dispersion, dt / dispersion)
    #         - ratio * gamma.pdf(time_stamps, undershoot / u_dispersion, dt / u_dispersion)
    #   hrf /= hrf.sum()
    dt = t_r / oversampling
    n_samples = np.rint(float(time_length) / dt).astype(int)
    if n_samples < 2:
        raise input_error(
            "time_length",
            "a kernel of at least 2 samples (time_length / (t_r / oversampling) >= 1.5)",
            f"{int(n_samples)} sample(s) for time_length={time_length}, t_r={t_r}, "
            f"oversampling={oversampling}",
            "increase oversampling or time_length",
        )
    time_stamps = np.linspace(0, time_length, n_samples)
    time_stamps -= onset
    if gamma_parametrisation == "dispersion_divides_loc":
        hrf = gamma.pdf(time_stamps, delay / dispersion, dt / dispersion) - ratio * gamma.pdf(
            time_stamps, undershoot / u_dispersion, dt / u_dispersion
        )
    else:
        # nilearn 0.14.1 hemodynamic_models.py _gamma_difference_hrf (nilearn PR #3297):
        #   peak_gamma = gamma.pdf(time_stamps, delay / dispersion, loc=dt, scale=dispersion)
        #   undershoot_gamma = gamma.pdf(time_stamps, undershoot / u_dispersion, loc=dt,
        #                                scale=u_dispersion)
        #   hrf = peak_gamma - ratio * undershoot_gamma
        peak_gamma = gamma.pdf(time_stamps, delay / dispersion, loc=dt, scale=dispersion)
        undershoot_gamma = gamma.pdf(
            time_stamps, undershoot / u_dispersion, loc=dt, scale=u_dispersion
        )
        hrf = peak_gamma - ratio * undershoot_gamma
    total = hrf.sum()
    if not np.isfinite(total) or total == 0:
        raise input_error(
            "onset",
            "an HRF with a non-zero sum on [0, time_length]",
            f"sum {total!r} for onset={onset}, time_length={time_length}",
            "use onset near 0 and time_length >= 32 s",
        )
    hrf /= total
    return hrf


def spm_hrf(
    t_r: float,
    oversampling: int = 50,
    time_length: float = 32.0,
    onset: float = 0.0,
    convention: str | Mapping = "nistats",
) -> np.ndarray:
    """SPM canonical HRF sampled on the oversampled grid.

    Parameters
    ----------
    t_r : float
        Repetition time in seconds (> 0).
    oversampling : int, default=50
        Temporal oversampling factor.
    time_length : float, default=32.0
        Kernel length in seconds.
    onset : float, default=0.0
        HRF onset in seconds.
    convention : str or mapping, default='nistats'
        ``'nistats'``, ``'nilearn'`` or a mapping of the choices in ``HRF_CHOICES``.
        The SPM HRF has dispersion 1 and is the same in both conventions.

    Returns
    -------
    hrf : ndarray of shape (rint(time_length * oversampling / t_r),)
        Kernel normalised to sum 1.

    Notes
    -----
    ``h(t) = g(t; 6, loc=dt) - 0.167 g(t; 16, loc=dt)``, ``dt = t_r / oversampling``,
    normalised to unit sum (see ``_gamma_difference_hrf``).

    Source: nistats 0.0.1rc0 hemodynamic_models.py ``spm_hrf``:
    ``_gamma_difference_hrf(tr, oversampling, time_length, onset)``; nilearn 0.14.1 identical.
    """
    t_r, oversampling, time_length, onset, choices = _check_hrf_arguments(
        t_r, oversampling, time_length, onset, convention
    )
    return _gamma_difference_hrf(
        t_r,
        oversampling,
        time_length,
        onset,
        ratio=_SPM_RATIO,
        gamma_parametrisation=choices["gamma_parametrisation"],
        **_SPM_PARAMETERS,
    )


def glover_hrf(
    t_r: float,
    oversampling: int = 50,
    time_length: float = 32.0,
    onset: float = 0.0,
    convention: str | Mapping = "nistats",
) -> np.ndarray:
    """Glover (1999) HRF sampled on the oversampled grid.

    Parameters
    ----------
    t_r : float
        Repetition time in seconds (> 0).
    oversampling : int, default=50
        Temporal oversampling factor.
    time_length : float, default=32.0
        Kernel length in seconds.
    onset : float, default=0.0
        HRF onset in seconds.
    convention : str or mapping, default='nistats'
        Selects ``gamma_parametrisation`` and ``glover_ratio`` (see ``HRF_CHOICES``).

    Returns
    -------
    hrf : ndarray of shape (rint(time_length * oversampling / t_r),)
        Kernel normalised to sum 1.

    Notes
    -----
    nistats: ``h(t) = g(t; 6/0.9, loc=dt/0.9, scale=1) - 0.35 g(t; 12/0.9, loc=dt/0.9, scale=1)``.
    nilearn: ``h(t) = g(t; 6/0.9, loc=dt, scale=0.9) - 0.48 g(t; 12/0.9, loc=dt, scale=0.9)``.

    Source: nistats 0.0.1rc0 hemodynamic_models.py ``glover_hrf``:
    ``_gamma_difference_hrf(tr, oversampling, time_length, onset, delay=6, undershoot=12.,
    dispersion=.9, u_dispersion=.9, ratio=.35)``; nilearn 0.14.1 ``glover_hrf`` with
    ``ratio=0.48`` (nilearn PR #4452) and the PR #3297 gamma parametrisation.
    """
    t_r, oversampling, time_length, onset, choices = _check_hrf_arguments(
        t_r, oversampling, time_length, onset, convention
    )
    return _gamma_difference_hrf(
        t_r,
        oversampling,
        time_length,
        onset,
        ratio=choices["glover_ratio"],
        gamma_parametrisation=choices["gamma_parametrisation"],
        **_GLOVER_PARAMETERS,
    )
