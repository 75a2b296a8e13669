"""``FirstLevelModel``: nilearn's interface over refglm's open per-voxel fit.

Tutorial code ports by changing one import::

    from refglm import FirstLevelModel
    fmri_glm = FirstLevelModel(t_r=7, noise_model='ar1', standardize=False,
                               hrf_model='spm', drift_model='cosine', high_pass=.01)
    fmri_glm = fmri_glm.fit(subject_data.func, events)
    z_map = fmri_glm.compute_contrast('active - rest', output_type='z_score')
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np

from refglm import io
from refglm._validate import check_n_jobs, finite_float, fmt, is_whole_number
from refglm.conventions import get_convention
from refglm.exceptions import InputError, NotEstimableError
from refglm.first_level.run import run_design
from refglm.glm.contrasts import ContrastResult, as_contrast_matrix, compute_contrast, is_estimable
from refglm.glm.engines import GLMFit, check_engine, check_noise_model, get_engine
from refglm.glm.masking import compute_epi_mask, mean_epi
from refglm.glm.scaling import STANDARDIZE_RULES, mean_scaling, signal_dtype

__all__ = ["FirstLevelModel", "OUTPUT_TYPES"]

OUTPUT_TYPES = ("z_score", "stat", "p_value", "effect_size", "effect_variance")


class FirstLevelModel:
    """First-level GLM of one fMRI run, fitted voxel by voxel with statsmodels.

    Parameters follow nistats/nilearn's ``FirstLevelModel``; defaults are
    nistats 0.0.1rc0's.

    Parameters
    ----------
    t_r : float
        Repetition time in seconds.
    slice_time_ref : float
        Fraction of ``t_r`` at which frame times are referenced (0 in nistats).
    hrf_model : str or None
        'spm', 'spm + derivative', 'spm + derivative + dispersion', 'glover',
        'glover + derivative', 'glover + derivative + dispersion', 'fir' or None.
    drift_model : {'cosine', 'polynomial', None}
    high_pass : float
        Cut-off frequency in Hz of the cosine drifts.
    drift_order : int
        Order of the polynomial drifts.
    fir_delays : list of int
        Delays of the FIR model, in scans.
    min_onset : float
        Earliest onset (s) relative to scan 0 that the design can represent.
    mask_img : path, nibabel image or None
        Brain mask; None computes the EPI mask from the run's mean.
    standardize : bool
        Z-score each voxel's time series (nilearn masker option,
        ``'zscore_sample'``: demeaned, divided by the ddof=1 standard deviation); only with
        ``signal_scaling=False``: nistats (``standardize = False`` is enforced
        when signal_scaling is not False) and nilearn 0.14.1 (``standardize_ =
        None``) ignore it otherwise, and so does refglm.
    signal_scaling : {0, 1, (0, 1), False}
        Axis of the mean scaling (0: per voxel over time, nistats default).
    noise_model : {'ar1', 'ols'}
    n_jobs : int
        joblib workers of the statsmodels engine.
    minimize_memory : bool
        False keeps the scaled signals and the design as ``signals_`` and
        ``X_`` (as nilearn's option of that name keeps its per-voxel results).
    convention : str or Convention
        A name of ``refglm.conventions.CONVENTIONS`` ('nistats', 'nilearn',
        'statsmodels'), or a ``Convention`` (e.g. ``get_convention('nistats')
        .flipped(ar_estimator='yule_walker')``).
    engine : {'statsmodels', 'vectorized'}
        The per-voxel statsmodels loop (``refglm.glm.engines.statsmodels.run_glm``) is
        the reference; ``'vectorized'`` (``refglm.glm.engines.vectorized``) is the
        same mathematics in batched numpy, tested equal to it.
    chunk_size : int
        Voxels per joblib task.
    backend : str or None
        joblib backend.
    progress : callable or None
        Called with the number of voxels done after each chunk, pass after
        pass (both engines). If it also has a ``begin`` method, that is
        called once, when the run is masked, with the number of voxels each
        pass covers (the CLI's bars take it as their total).
    """

    def __init__(
        self,
        t_r=None,
        slice_time_ref=0.0,
        hrf_model="glover",
        drift_model="cosine",
        high_pass=0.01,
        drift_order=1,
        fir_delays=(0,),
        min_onset=-24,
        mask_img=None,
        standardize=False,
        signal_scaling=0,
        noise_model="ar1",
        n_jobs=1,
        minimize_memory=True,
        convention="nistats",
        engine="statsmodels",
        chunk_size=2048,
        backend=None,
        progress: Callable[[int], None] | None = None,
    ):
        self.t_r = t_r
        self.slice_time_ref = slice_time_ref
        self.hrf_model = hrf_model
        self.drift_model = drift_model
        self.high_pass = high_pass
        self.drift_order = drift_order
        self.fir_delays = fir_delays
        self.min_onset = min_onset
        self.mask_img = mask_img
        self.standardize = standardize
        self.signal_scaling = signal_scaling
        self.noise_model = noise_model
        self.n_jobs = n_jobs
        self.minimize_memory = minimize_memory
        self.convention = convention
        self.engine = engine
        self.chunk_size = chunk_size
        self.backend = backend
        self.progress = progress

    # ------------------------------------------------------------------ checks
    def _check_params(self):
        conv = get_convention(self.convention)
        t_r = self.t_r
        if isinstance(t_r, bool) or not isinstance(t_r, int | float | np.number):
            raise InputError(
                f"t_r: expected a repetition time in seconds (a number > 0), found {t_r!r}; "
                "pass e.g. t_r=7 (read it from the BIDS RepetitionTime)."
            )
        if finite_float(t_r) is None or t_r <= 0:
            found = fmt(t_r) if isinstance(t_r, int) else repr(t_r)
            raise InputError(f"t_r: expected a number > 0 seconds, found {found}; pass e.g. t_r=7.")
        check_noise_model(self.noise_model)
        check_n_jobs(self.n_jobs, "n_jobs", backend=self.backend)
        if not is_whole_number(self.chunk_size, 1):
            raise InputError(
                f"chunk_size: expected a whole number of voxels >= 1, found "
                f"{fmt(self.chunk_size)}; pass e.g. chunk_size=2048 (the default)."
            )
        check_engine(self.engine)
        return conv

    # --------------------------------------------------------------------- fit
    def fit(self, run_imgs, events=None, design_matrices=None):
        """Fit the GLM to one run.

        Parameters
        ----------
        run_imgs : path, nibabel image, or list of 3-D paths/images
            One run: a 4-D image, or its 3-D volumes in order.
        events : pandas.DataFrame or path to a TSV
            BIDS events (``onset``, ``duration``, optional ``trial_type`` and
            ``modulation``).
        design_matrices : pandas.DataFrame, optional
            A design to use instead of building one from ``events``.

        Returns
        -------
        self
        """
        conv = self._check_params()
        data, affine = io.load_run(run_imgs, dtype=io.run_dtype(run_imgs, conv.input_dtype))
        # hand the only reference over, so that the 4-D run is freed once masked
        run = [data]
        del data
        return self._fit_run(run, affine, events, design_matrices)

    def fit_array(self, data, affine, events=None, design_matrices=None, mask=None):
        """Fit the GLM to one run already loaded as a 4-D array.

        The steps of :meth:`fit` after loading; ``refglm compare --explain``
        calls it to refit one loaded run under many conventions.

        Parameters
        ----------
        data : ndarray, shape (x, y, z, n_scans)
            The run, in the dtype the convention's ``input_dtype`` gives
            (:func:`run_dtype`).
        affine : ndarray, shape (4, 4)
        events, design_matrices
            As :meth:`fit`.
        mask : ndarray of bool, 3-D, or None
            Voxels to fit; None uses ``mask_img``, or the EPI mask when that
            is None too.

        Returns
        -------
        self
        """
        return self._fit_run([data], affine, events, design_matrices, mask)

    def _fit_run(self, run: list, affine, events, design_matrices, mask=None):
        """:meth:`fit_array` on ``run = [data]``, which it empties.

        The 4-D array is released as soon as the signals are masked out of it (when
        the caller holds no other reference: :meth:`fit` does not), so that it and
        the engine's working memory are never held together.
        """
        data = run.pop()
        conv = self._check_params()
        if data.ndim != 4:
            raise InputError(
                f"data: expected a 4-D run (x, y, z, n_scans), found shape {data.shape}; "
                "pass every scan of the run."
            )
        n_scans = data.shape[3]
        design, X = run_design(self, events, design_matrices, n_scans)

        # count the NaN/Inf voxels before any mask: compute_epi_mask sets them to 0
        # (nilearn's ensure_finite), which would drop them silently
        finite = np.isfinite(data).all(axis=3)
        n_bad = int(finite.size - np.count_nonzero(finite))
        if n_bad == finite.size:
            raise InputError(
                f"run: expected finite values, found NaN or Inf in all {n_bad} voxels; check "
                "the functional images (a failed conversion?)."
            )
        mean = mean_epi(data, conv.mask_mean_dtype)
        self.mean_img_data_ = mean.astype(np.float64)
        if mask is not None:
            mask = np.asarray(mask, dtype=bool)
            if mask.shape != data.shape[:3]:
                raise InputError(
                    f"mask: expected a boolean array on the run's grid {data.shape[:3]}, found "
                    f"shape {mask.shape}; compute it from this run."
                )
        elif self.mask_img is None:
            mask = compute_epi_mask(mean)
        else:
            mask_data, mask_affine = io.image_data(self.mask_img)
            if mask_data.shape != data.shape[:3]:
                raise InputError(
                    f"mask_img: expected a mask on the run's grid {data.shape[:3]}, found shape "
                    f"{mask_data.shape}; resample the mask to the functional images."
                )
            if not np.allclose(mask_affine, affine):
                shift = np.abs(np.asarray(mask_affine) - affine).max()
                raise InputError(
                    f"mask_img: expected the run's voxel-to-mm affine, found the same shape "
                    f"{mask_data.shape} but an affine that differs by up to {shift:g}; resample "
                    "the mask to the functional images."
                )
            mask = mask_data > 0
        if n_bad:
            warnings.warn(
                f"run: {n_bad} voxels have NaN or Inf values; they are excluded from the mask.",
                stacklevel=3,  # the caller of fit or fit_array
            )
            mask = mask & finite
        if not mask.any():
            if self.mask_img is not None:
                fix = (
                    "mask_img has no voxel > 0 where the data are finite; pass a mask "
                    "with brain voxels"
                )
            else:
                fix = "check the images (constant or all-zero data?) or pass mask_img"
            raise InputError(f"mask: expected brain voxels, found an empty mask; {fix}.")

        # nilearn masker: series = data[mask].T, shape (n_scans, n_voxels), then
        # signal.py _sanitize_signals: signals.copy() (C order) and _ensure_float.
        Y = np.ascontiguousarray(data[mask].T, dtype=signal_dtype(data.dtype))
        del data
        if hasattr(self.progress, "begin"):
            self.progress.begin(Y.shape[1])
        scaling = self.signal_scaling is not False and self.signal_scaling is not None
        # the convention's standardize_rule: 'without_scaling' (nistats) z-scores only
        # when signal_scaling is False; 'never' (nilearn 0.14.1) ignores standardize
        if conv.standardize_rule not in STANDARDIZE_RULES:
            raise InputError(
                f"standardize_rule: expected one of {STANDARDIZE_RULES}, found "
                f"{conv.standardize_rule!r}; pick a value from "
                "refglm.glm.scaling.STANDARDIZE_RULES."
            )
        if self.standardize and not scaling and conv.standardize_rule == "without_scaling":
            # nilearn 0.14.1 signal.py standardize_signal('zscore_sample'), in Y's dtype
            Y = Y - Y.mean(axis=0)
            std = Y.std(axis=0, ddof=1)
            std[std < np.finfo(np.float64).eps] = 1.0
            Y /= std
        if scaling:
            Y, _ = mean_scaling(Y, self.signal_scaling, conv.scaling_dtype)

        self.fit_ = get_engine(self.engine)(
            Y,
            X,
            noise_model=self.noise_model,
            ar_estimator=conv.ar_estimator,
            ar_binning=conv.ar_binning,
            ar_bins=conv.ar_bins,
            whiten_scan0=conv.whiten_scan0,
            ar_fit=conv.ar_fit,
            cov_pinv=conv.cov_pinv,
            n_jobs=self.n_jobs,
            chunk_size=self.chunk_size,
            backend=self.backend,
            progress=self.progress,
        )
        if not self.minimize_memory:
            self.signals_ = Y
            self.X_ = X
        self.convention_ = conv
        self.design_matrices_ = [design]
        self.mask_ = mask
        self.affine_ = affine
        self.mask_img_ = io.to_image(mask.astype(np.int8), affine)
        self.n_scans_ = n_scans
        return self

    # ----------------------------------------------------------- contrasts
    def _check_fitted(self):
        if not hasattr(self, "fit_"):
            raise InputError("FirstLevelModel: not fitted yet; call .fit(run_imgs, events) first.")

    def contrast_result(self, contrast_def, stat_type=None) -> ContrastResult:
        """All maps of a contrast as arrays over the mask (a ``ContrastResult``)."""
        self._check_fitted()
        design = self.design_matrices_[0]
        C = as_contrast_matrix(contrast_def, design.columns)
        if not is_estimable(C, design.to_numpy(dtype=np.float64)):
            raise NotEstimableError(
                f"contrast {contrast_def!r}: not estimable with this rank-deficient design "
                "(it is not in the row space of X); drop or merge collinear columns."
            )
        conv = self.convention_
        return compute_contrast(self.fit_, C, stat_type=stat_type, z_method=conv.z_method)

    def to_volume(self, values: np.ndarray) -> np.ndarray:
        """Put per-voxel values back on the 3-D grid (0 outside the mask)."""
        vol = np.zeros(self.mask_.shape, dtype=np.float64)
        vol[self.mask_] = values
        return vol

    def compute_contrast(self, contrast_def, stat_type=None, output_type="z_score"):
        """A contrast map as a ``nibabel.Nifti1Image``.

        Parameters
        ----------
        contrast_def : str, array of shape (n_columns,) or (q, n_columns)
            An expression over the design's columns (``"active - rest"``), a
            vector, or a matrix (an F test).
        stat_type : {'t', 'F'} or None
            None: 't' for one row, 'F' for several.
        output_type : {'z_score', 'stat', 'p_value', 'effect_size', 'effect_variance'}

        Returns
        -------
        nibabel.Nifti1Image
        """
        if output_type not in OUTPUT_TYPES:
            raise InputError(f"output_type: expected one of {OUTPUT_TYPES}, found {output_type!r}.")
        result = self.contrast_result(contrast_def, stat_type)
        values = result.output(output_type)
        if values.ndim > 1:
            raise InputError(
                f"output_type {output_type!r}: a {result.effect.shape[0]}-row F contrast has "
                "no single effect map; request 'z_score', 'stat' or 'p_value'."
            )
        return io.to_image(
            self.to_volume(values), self.affine_, f"{output_type} of contrast {contrast_def}"
        )

    @property
    def glm_fit_(self) -> GLMFit:
        self._check_fitted()
        return self.fit_
