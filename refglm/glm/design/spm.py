r"""SPM12's first-level design matrix ``xX.X`` (design builder ``'spm_fMRI_design'``).

Reproduces SPM12 r7771 ``spm_fMRI_design.m`` and the functions it calls, for one
session and the canonical HRF family:

1. basis functions (``spm_get_bf.m``, ``spm_hrf.m``, ``spm_Gpdf.m``): the canonical
   HRF on the microtime grid ``dt = TR / fmri_t``, optionally with its time and
   dispersion derivatives, orthogonalised (``spm_orth``);
2. stimulus functions (``spm_get_ons.m``): a boxcar of ``round(duration / dt) + 1``
   microbins from microbin ``round(onset / dt) + 33`` (MATLAB ``round``), divided by
   ``dt`` when every duration of the condition is 0 (sticks); parametric and time
   modulators, orthogonalised across onsets;
3. convolution (``spm_Volterra.m``, first order) and sampling at microbins
   ``(0:k-1) * fmri_t + fmri_t0 + 32`` (1-based);
4. each condition's columns orthogonalised again at scan resolution (``spm_orth``),
   then one constant for the session.

There are no drift columns: SPM's high-pass filter is a separate basis that ``K``
removes from data and design (:mod:`refglm.glm.filtering`).

Arrays in, arrays out; numpy at import (scipy's ``gammaln`` on use).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from refglm.exceptions import InputError
from refglm.glm.spm_linalg import matlab_round, seqsum, spm_orth

__all__ = [
    "SPM_HRF_PARAMETERS",
    "SPM_BASIS_SETS",
    "SpmCondition",
    "spm_gpdf",
    "spm_hrf_microtime",
    "spm_get_bf",
    "spm_get_ons",
    "spm_volterra",
    "spm_fmri_design",
]

#: SPM12 spm_hrf.m defaults p = [6 16 1 1 6 0 32]: delay of response, delay of
#: undershoot, dispersions of both, response/undershoot ratio, onset, kernel length (s).
SPM_HRF_PARAMETERS = (6.0, 16.0, 1.0, 1.0, 6.0, 0.0, 32.0)

#: ``bases.hrf.derivs`` of SPM's batch -> ``xBF.name`` (config/spm_run_fmri_spec.m).
SPM_BASIS_SETS = {
    (0, 0): "hrf",
    (1, 0): "hrf (with time derivative)",
    (1, 1): "hrf (with time and dispersion derivatives)",
}

# spm_get_ons.m pads the microtime grid with 32 bins before the first scan
_PAD = 32


def spm_gpdf(x, h: float, scale: float) -> np.ndarray:
    r"""The gamma density of SPM12 ``spm_Gpdf.m`` (shape ``h``, rate ``scale``).

    .. math:: f(x) = \exp\big((h - 1)\log x + h \log l - l x - \log\Gamma(h)\big), \quad x > 0

    :math:`f(0) = l` when :math:`h = 1`, :math:`+\infty` when :math:`h < 1`, else 0; 0 for x < 0.
    """
    from scipy.special import gammaln  # on use: the module loads with numpy only

    x = np.asarray(x, dtype=np.float64)
    f = np.zeros_like(x)
    if h < 1:
        f[x == 0] = np.inf
    elif h == 1:
        f[x == 0] = scale
    pos = x > 0
    f[pos] = np.exp((h - 1) * np.log(x[pos]) + h * np.log(scale) - scale * x[pos] - gammaln(h))
    return f


def spm_hrf_microtime(dt: float, p=None, fmri_t: int = 16) -> tuple[np.ndarray, np.ndarray]:
    r"""SPM12's canonical HRF sampled every ``dt`` seconds, as ``spm_get_bf`` builds it.

    ``spm_get_bf`` calls ``spm_hrf(dt, p, fmri_t)`` with the *microtime* bin ``dt`` as
    its "RT", so the HRF is built on a grid ``fmri_t`` times finer still,
    :math:`\delta = dt / T`, :math:`u = 0, \dots, \lceil p_7/\delta \rceil` minus
    :math:`p_6/\delta`:

    .. math:: h(u) = G(u; p_1/p_3, \delta/p_3) - G(u; p_2/p_4, \delta/p_4) / p_5

    then sampled every ``T`` bins, ``h([0:floor(p7/dt)]*T + 1)``, and divided by its sum.
    # SPM12 spm_hrf.m lines 50-63; spm_get_bf.m line 132: [bf, p] = spm_hrf(dt, [], fMRI_T)

    Returns
    -------
    hrf : ndarray, shape (floor(p7 / dt) + 1,)
    p : ndarray, shape (7,)
        The parameters used.
    """
    params = np.array(SPM_HRF_PARAMETERS)
    if p is not None:
        given = np.asarray(p, dtype=np.float64).ravel()
        params[: len(given)] = given
    fine = dt / fmri_t
    u = np.arange(0, int(np.ceil(params[6] / fine)) + 1, dtype=np.float64) - params[5] / fine
    hrf = spm_gpdf(u, params[0] / params[2], fine / params[2]) - (
        spm_gpdf(u, params[1] / params[3], fine / params[3]) / params[4]
    )
    hrf = hrf[np.arange(0, int(np.floor(params[6] / dt)) + 1) * fmri_t]
    return hrf / seqsum(hrf), params


def spm_get_bf(dt: float, derivatives=(0, 0), fmri_t: int = 16) -> np.ndarray:
    r"""The canonical basis set ``xBF.bf``, SPM12 ``spm_get_bf.m``.

    'hrf': :math:`[h]`; with the time derivative
    :math:`[h,\ (h - h_{p_6 + 1})/1]` (the HRF shifted by 1 s); with the dispersion
    derivative also :math:`(h - h_{p_3 + 0.01})/0.01`. The set is orthogonalised
    (``spm_orth``).
    # SPM12 spm_get_bf.m lines 130-160

    Parameters
    ----------
    dt : float
        The microtime bin, TR / fmri_t.
    derivatives : (int, int)
        SPM's ``bases.hrf.derivs``: (0, 0), (1, 0) or (1, 1).
    """
    key = tuple(int(d) for d in derivatives)
    if key not in SPM_BASIS_SETS:
        raise InputError(
            f"derivatives: expected one of {list(SPM_BASIS_SETS)} (SPM's bases.hrf.derivs), "
            f"found {derivatives!r}; use (0, 0), (1, 0) or (1, 1)."
        )
    bf, p = spm_hrf_microtime(dt, None, fmri_t)
    bf = bf[:, None]
    if key[0]:
        p2 = p.copy()
        p2[5] = p2[5] + 1.0
        bf = np.column_stack([bf, (bf[:, 0] - spm_hrf_microtime(dt, p2, fmri_t)[0]) / 1.0])
        if key[1]:
            p3 = p.copy()
            p3[2] = p3[2] + 0.01
            bf = np.column_stack([bf, (bf[:, 0] - spm_hrf_microtime(dt, p3, fmri_t)[0]) / 0.01])
    return spm_orth(bf)


@dataclass
class SpmCondition:
    """One condition as SPM's ``fmri_spec`` takes it (``sess.cond(j)``).

    Attributes
    ----------
    name : str
    onset, duration : ndarray
        In ``units`` of :func:`spm_fmri_design` (one duration per onset).
    tmod : int
        Order of the time modulation (time in minutes).
    pmod : list of (name, values, poly)
        Parametric modulators: a value per onset and a polynomial order.
    orth : bool
        Orthogonalise the modulators (SPM's ``orth``, default 1).
    """

    name: str
    onset: np.ndarray
    duration: np.ndarray
    tmod: int = 0
    pmod: list = field(default_factory=list)
    orth: bool = True


def spm_get_ons(
    cond: SpmCondition, n_scans: int, fmri_t: int, dt: float, units: str = "secs", t_r=None
):
    r"""A condition's stimulus functions on the microtime grid, SPM12 ``spm_get_ons.m``.

    With :math:`TR` = ``fmri_t * dt`` for 'scans' and 1 for 'secs' (SPM's ``TR``):

    .. math::
        t_{on} = \operatorname{round}(o\,TR/dt) + 33,\qquad
        t_{off} = \operatorname{round}(d\,TR/dt) + t_{on} + 1

    (MATLAB ``round``, 1-based microbins, :math:`t_{on} \ge 1`); ``+u`` at
    :math:`t_{on}`, ``-u`` at :math:`t_{off}`, cumulated, rows ``1 .. k*fmri_t + 32``
    kept. Events with :math:`t_{on}` past ``k*fmri_t + 128`` fall off the grid. The
    columns of ``u`` are :math:`[1, P_1^1 .. P_1^{h_1}, P_2^1, ...]` (time in minutes
    first when ``tmod``), orthogonalised (``spm_orth``) when ``orth``; sticks (every
    duration 0) are divided by ``dt``.
    # SPM12 spm_get_ons.m lines 90-150 (tmod: config/spm_run_fmri_spec.m, time in minutes)

    Returns
    -------
    sf : ndarray, shape (n_scans * fmri_t + 32, n_columns)
    names : list of str
        SPM's ``U.name``: the condition, then ``<name>x<modulator>^<order>``.
    """
    tr_units = fmri_t * dt if units == "scans" else 1.0
    ons, dur = cond.onset, cond.duration
    names = [cond.name]
    columns = [np.ones(ons.size)]
    minutes = 1.0 / 60 if units == "secs" else (t_r if t_r is not None else fmri_t * dt) / 60
    modulators = []
    if cond.tmod > 0:
        modulators.append(("time", ons * minutes, cond.tmod))
    modulators.extend(cond.pmod)
    for mod_name, values, order in modulators:
        values = np.asarray(values, dtype=np.float64).ravel()
        for j in range(1, int(order) + 1):
            columns.append(values**j)
            names.append(f"{cond.name}x{mod_name}^{j}")
    u = np.column_stack(columns)
    if cond.orth:
        u = spm_orth(u)
    if not np.any(dur):
        u = u / dt
    ton = matlab_round(ons * tr_units / dt) + 33
    tof = matlab_round(dur * tr_units / dt) + ton + 1
    n = n_scans * fmri_t + 128
    sf = np.zeros((n, u.shape[1]))
    ton = np.maximum(ton, 1).astype(np.int64)
    tof = np.maximum(tof, 1).astype(np.int64)
    for j in range(ton.size):
        if n > ton[j]:
            sf[ton[j] - 1, :] += u[j, :]
        if n > tof[j]:
            sf[tof[j] - 1, :] -= u[j, :]
    sf = np.cumsum(sf, axis=0)
    return sf[: n_scans * fmri_t + _PAD, :], names


def spm_volterra(stimuli, bf: np.ndarray):
    r"""First-order Volterra expansion (convolution), SPM12 ``spm_Volterra.m``.

    For each condition, stimulus column :math:`u_k` and basis function :math:`b_p`:
    :math:`x = (u_k * b_p)` truncated to the length of :math:`u_k`.

    Returns
    -------
    X : ndarray, shape (n_microbins, n_columns)
    names : list of (condition name, basis index)
    groups : list of (column indices, modulator index) per condition (SPM's ``Fc``)
    """
    columns, names, groups = [], [], []
    for sf, u_names in stimuli:
        ind, mod = [], []
        for k in range(sf.shape[1]):
            for p in range(bf.shape[1]):
                columns.append(np.convolve(sf[:, k], bf[:, p])[: sf.shape[0]])
                names.append((u_names[k], p))
                ind.append(len(columns) - 1)
                mod.append(k + 1)
        groups.append((np.array(ind, dtype=int), np.array(mod, dtype=int)))
    n = stimuli[0][0].shape[0] if stimuli else 0
    X = np.column_stack(columns) if columns else np.zeros((n, 0))
    return X, names, groups


def _column_name(u_name: str, basis: int) -> str:
    """refglm's name of a column: the condition, then ``_derivative``/``_dispersion``."""
    return u_name + ("", "_derivative", "_dispersion")[basis]


def spm_fmri_design(
    conditions,
    n_scans: int,
    t_r: float,
    *,
    units: str = "secs",
    fmri_t: int = 16,
    fmri_t0: int = 8,
    derivatives=(0, 0),
) -> dict:
    r"""SPM12's design matrix ``xX.X`` for one session, SPM12 ``spm_fMRI_design.m``.

    With :math:`dt = TR / T` (:math:`T` = ``fmri_t``), each condition's stimulus
    functions (:func:`spm_get_ons`) are convolved with the basis set
    (:func:`spm_get_bf`, :func:`spm_volterra`) and sampled at the 1-based microbins

    .. math:: m_k = k\,T + T_0 + 32, \qquad k = 0, \dots, n - 1

    (:math:`T_0` = ``fmri_t0``). The columns of each condition are then
    orthogonalised at scan resolution (``spm_orth``; with ``orth`` off only the
    basis functions of each modulator), and the session's constant is appended.
    # SPM12 spm_fMRI_design.m lines 200-260 (sampling: X = X((0:(k - 1))*fMRI_T + fMRI_T0 + 32,:))

    Parameters
    ----------
    conditions : list of SpmCondition
        In SPM's order (the batch's ``sess.cond``).
    n_scans : int
    t_r : float
        Repetition time (s).
    units : {'secs', 'scans'}
        Units of the onsets and durations (SPM's ``timing.units``).
    fmri_t, fmri_t0 : int
        Microtime resolution (bins per scan) and onset (1-based bin), SPM's
        ``timing.fmri_t`` and ``timing.fmri_t0``.
    derivatives : (int, int)
        SPM's ``bases.hrf.derivs``.

    Returns
    -------
    dict
        ``X`` (n_scans, p), ``names`` (refglm's column names: the condition,
        ``<condition>_derivative``, ``<condition>_dispersion``, modulators
        ``<condition>x<modulator>^<order>``, then ``constant``), ``spm_names``
        (SPM's ``xX.name``), ``iC``, ``iB`` (0-based column indices of the
        conditions and of the constant), ``bf`` and ``dt``.
    """
    if units not in ("secs", "scans"):
        raise InputError(f"units: expected 'secs' or 'scans', found {units!r}.")
    fmri_t, fmri_t0, n_scans = int(fmri_t), int(fmri_t0), int(n_scans)
    if not 1 <= fmri_t0 <= fmri_t:
        raise InputError(
            f"microtime_onset: expected a microbin between 1 and the microtime resolution "
            f"{fmri_t}, found {fmri_t0}; SPM's default is 8 of 16 (the middle of the scan)."
        )
    dt = t_r / fmri_t
    bf = spm_get_bf(dt, derivatives, fmri_t)
    stimuli = [spm_get_ons(c, n_scans, fmri_t, dt, units, t_r) for c in conditions]
    X, col_names, groups = spm_volterra(stimuli, bf)
    if X.shape[1]:
        X = X[np.arange(n_scans) * fmri_t + fmri_t0 + _PAD - 1, :]
    for cond, (ind, mod) in zip(conditions, groups, strict=True):
        groups_of = np.ones_like(mod) if cond.orth else mod
        for j in range(1, int(groups_of.max(initial=0)) + 1):
            cols = ind[groups_of == j]
            X[:, cols] = spm_orth(X[:, cols])
    n_conditions = X.shape[1]
    X = np.column_stack([X, np.ones(n_scans)])
    names = [_column_name(u, p) for u, p in col_names] + ["constant"]
    spm_names = [f"Sn(1) {u}*bf({p + 1})" for u, p in col_names] + ["Sn(1) constant"]
    return dict(
        X=X,
        names=names,
        spm_names=spm_names,
        iC=np.arange(n_conditions),
        iB=np.array([n_conditions]),
        bf=bf,
        dt=dt,
    )
