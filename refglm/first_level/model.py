"""``FirstLevelModel``: nilearn's interface over refglm's open per-voxel fit.

Tutorial code ports by changing one import::

    from refglm import FirstLevelModel
    fmri_glm = FirstLevelModel(t_r=7, noise_model='ar1', standardize=False,
                               hrf_model='spm', drift_model='cosine', high_pass=.01)
    fmri_glm = fmri_glm.fit(subject_data.func, events)
    z_map = fmri_glm.compute_contrast('active - rest', output_type='z_score')

and SPM12's model is one convention away::

    spm = FirstLevelModel(t_r=7, hrf_model='spm', drift_model='cosine', high_pass=1/128,
                          noise_model='ar1', convention='spm12').fit(func, events)
    t_map = spm.compute_contrast('active', output_type='stat')
    spm.height_threshold(0.05, height_control='fwe')   # SPM's FWE threshold on T
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np

from refglm import io
from refglm._validate import check_n_jobs, finite_float, fmt, is_real_number, is_whole_number
from refglm.conventions import get_convention
from refglm.exceptions import InputError, NotEstimableError
from refglm.first_level.run import (
    check_design_parameters,
    drift_basis,
    no_interest_columns,
    run_design,
)
from refglm.glm.contrasts import ContrastResult, as_contrast_matrix, compute_contrast, is_estimable
from refglm.glm.engines import GLMFit, check_engine, check_noise_model, get_engine
from refglm.glm.masking import (
    SPM_MASK_THRESHOLD,
    compute_epi_mask,
    mean_epi,
    spm_implicit_mask,
    spm_mask_thresholds,
)
from refglm.glm.scaling import (
    GLOBAL_NORMALIZATIONS,
    STANDARDIZE_RULES,
    mean_scaling,
    signal_dtype,
    spm_globals,
    spm_scale,
    spm_scale_factors,
)

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
        'statsmodels', 'spm12'), or a ``Convention`` (e.g. ``get_convention('nistats')
        .flipped(ar_estimator='yule_walker')``). ``'spm12'`` fits SPM12's model: its
        design (``hrf_model`` 'spm' with or without derivatives, drifts as SPM's DCT
        filter of cut-off ``1 / high_pass`` s), its implicit mask and grand-mean
        scaling, its global ReML AR(0.2) whitening (``noise_model='ols'`` is SPM's
        'none') and its effective degrees of freedom; checked against SPM12 itself
        (``tests/peers/test_spm12.py``).
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
    oversampling : int or None
        Microtime bins per scan of the design. None: 50 under nistats' and nilearn's
        builder (``make_first_level_design_matrix``), 16 under SPM's (SPM's
        ``fmri_t``, convention ``'spm12'``).
    microtime_onset : int or None
        SPM's ``fmri_t0``: the 1-based microtime bin at which each scan is sampled
        (1 .. oversampling); None: 8. Only under SPM's design builder (elsewhere
        ``slice_time_ref`` plays its part).
    global_normalization : {None, 'scaling'}
        Under SPM's scaling (``scaling_method='spm_global'``): None is SPM's 'None'
        (the session scaled to a grand mean of 100, one factor), ``'scaling'`` SPM's
        'Scaling' (each scan by its own global). ``signal_scaling`` is not used there.
    implicit_mask_threshold : float or None
        Under SPM's implicit mask: the fraction of each scan's global a voxel must
        exceed in every scan (SPM's ``mthresh``); None: 0.8.
    modulators : dict or None
        Under SPM's design builder: SPM's parametric and time modulators per trial
        type, ``{trial_type: {"pmod": [(events column, polynomial order), ...],
        "tmod": order, "orth": bool}}`` (``refglm.first_level.run.spm_conditions``).

    Attributes
    ----------
    design_matrices_ : list of pandas.DataFrame
        The design: under ``'spm12'`` SPM's ``xX.X`` (the conditions, then ``constant``).
    drift_basis_ : pandas.DataFrame or None
        SPM's drift basis ``K.X0``, which its filter removes from data and design
        (None when the drifts are columns of the design).
    mask_img_ : nibabel.Nifti1Image
        The analysis mask (under ``'spm12'`` SPM's ``mask.nii``).
    global_values_, scale_factors_, mask_thresholds_ : ndarray or None
        SPM's globals ``xGX.rg``, scale factors ``xGX.gSF`` and ``xM.TH``, per scan.
    reml_hyperparameters_ : ndarray or None
        SPM's ``xVi.h`` (empty for ``noise_model='ols'``).
    noise_correlation_, whitening_matrix_, pooled_covariance_ : ndarray or None
        SPM's ``xVi.V``, ``xX.W`` and ``xVi.Cy``.
    erdf_ : float or None
        SPM's effective residual degrees of freedom ``xX.erdf``.
    smoothness_ : ndarray (3,) or None
        SPM's ``xVol.FWHM``, in voxels; ``resels_`` its resel counts ``xVol.R``,
        ``resels_per_voxel_`` the RPV image, ``search_volume_`` the mask's voxels ``xVol.S``.
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
        oversampling=None,
        microtime_onset=None,
        global_normalization=None,
        implicit_mask_threshold=None,
        modulators=None,
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
        self.oversampling = oversampling
        self.microtime_onset = microtime_onset
        self.global_normalization = global_normalization
        self.implicit_mask_threshold = implicit_mask_threshold
        self.modulators = modulators

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
        spm_globals_used = conv.scaling_method == "spm_global" or (
            conv.mask_method == "spm_implicit"
        )
        if self.global_normalization not in GLOBAL_NORMALIZATIONS:
            raise InputError(
                f"global_normalization: expected one of {GLOBAL_NORMALIZATIONS}, found "
                f"{self.global_normalization!r}; use None (SPM's 'None') or 'scaling' "
                "(SPM's 'Scaling')."
            )
        if self.global_normalization is not None and not spm_globals_used:
            raise InputError(
                f"global_normalization: expected None under convention {conv.name!r} (it is "
                f"SPM's global normalisation), found {self.global_normalization!r}; use "
                "signal_scaling here, or convention='spm12'."
            )
        if conv.scaling_method == "spm_global" and self.standardize:
            raise InputError(
                f"standardize: expected False under scaling_method 'spm_global' (convention "
                f"{conv.name!r}: SPM never standardizes), found {self.standardize!r}."
            )
        threshold = self.implicit_mask_threshold
        if threshold is not None:
            if conv.mask_method != "spm_implicit":
                raise InputError(
                    f"implicit_mask_threshold: expected None under mask_method "
                    f"{conv.mask_method!r}, found {threshold!r}; it is SPM's mthresh."
                )
            if not is_real_number(threshold) or np.isnan(threshold):
                raise InputError(
                    f"implicit_mask_threshold: expected a fraction of the global (SPM's "
                    f"mthresh, 0.8 by default; -inf keeps every voxel), found {threshold!r}."
                )
        if self.modulators is not None and conv.design_builder != "spm_fMRI_design":
            raise InputError(
                f"modulators: expected None under design_builder {conv.design_builder!r}, "
                "found a mapping; SPM's parametric modulators need convention='spm12'."
            )
        return conv

    def check_parameters(self):
        """Check every parameter against the convention, without data; return the convention.

        What :meth:`fit` checks before it reads the run: the arguments, and what the
        convention's design builder takes (under ``'spm12'``: an SPM HRF, cosine
        drifts or none, ``slice_time_ref=0``, a microtime onset within the microtime
        resolution).

        Raises
        ------
        InputError
        """
        conv = self._check_params()
        check_design_parameters(self)
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
        drifts = drift_basis(self, n_scans)

        # count the NaN/Inf voxels before any mask: compute_epi_mask sets them to 0
        # (nilearn's ensure_finite), which would drop them silently
        finite = np.isfinite(data).all(axis=3)
        n_bad = int(finite.size - np.count_nonzero(finite))
        if n_bad == finite.size:
            raise InputError(
                f"run: expected finite values, found NaN or Inf in all {n_bad} voxels; check "
                "the functional images (a failed conversion?)."
            )
        if conv.mask_method == "compute_epi_mask":
            mean = mean_epi(data, conv.mask_mean_dtype)
            self.mean_img_data_ = mean.astype(np.float64)
        else:  # SPM's implicit mask uses no mean image: the mean, for figures only
            self.mean_img_data_ = np.mean(data, axis=3, dtype=np.float64)
        self.global_values_ = self.scale_factors_ = self.mask_thresholds_ = None
        if conv.scaling_method == "spm_global" or conv.mask_method == "spm_implicit":
            # SPM12 spm_fmri_spm_ui.m: globals of the raw scans, then gSF
            self.global_values_ = spm_globals(data)
            self.scale_factors_ = spm_scale_factors(self.global_values_, self.global_normalization)
        if mask is not None:
            mask = np.asarray(mask, dtype=bool)
            if mask.shape != data.shape[:3]:
                raise InputError(
                    f"mask: expected a boolean array on the run's grid {data.shape[:3]}, found "
                    f"shape {mask.shape}; compute it from this run."
                )
        elif self.mask_img is not None:
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
        if conv.mask_method == "spm_implicit":
            # SPM12 spm_spm.m: the implicit mask; a given mask is SPM's explicit mask,
            # which restricts it
            threshold = self.implicit_mask_threshold
            self.mask_thresholds_ = spm_mask_thresholds(
                self.global_values_,
                self.scale_factors_,
                SPM_MASK_THRESHOLD if threshold is None else float(threshold),
            )
            implicit = spm_implicit_mask(data, self.scale_factors_, self.mask_thresholds_)
            mask = implicit if mask is None else mask & implicit
        elif mask is None:
            mask = compute_epi_mask(mean)
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

        if conv.scaling_method == "spm_global":
            # SPM12: the data SPM reads are raw*gSF, in double precision
            Y = spm_scale(data[mask].T, self.scale_factors_)
        else:
            # nilearn masker: series = data[mask].T, shape (n_scans, n_voxels), then
            # signal.py _sanitize_signals: signals.copy() (C order) and _ensure_float.
            Y = np.ascontiguousarray(data[mask].T, dtype=signal_dtype(data.dtype))
        del data
        if hasattr(self.progress, "begin"):
            self.progress.begin(Y.shape[1])
        if conv.scaling_method != "spm_global":
            Y = self._mean_scaling(Y, conv)

        engine_X, spm_arguments = X, {}
        self.reml_hyperparameters_ = self.noise_correlation_ = None
        self.whitening_matrix_ = self.pooled_covariance_ = None
        self.reml_voxels_ = self.reml_iterations_ = None
        if conv.ar_fit == "spm_reml":
            spm_arguments = self._spm_noise(Y, X, design, drifts, n_scans, conv)
        elif drifts is not None:
            # SPM's design fitted voxel by voxel: its drift basis enters as regressors
            engine_X = np.column_stack([X, drifts.to_numpy(dtype=np.float64)])

        self.fit_ = get_engine(self.engine)(
            Y,
            engine_X,
            noise_model=self.noise_model,
            ar_estimator=conv.ar_estimator,
            ar_binning=conv.ar_binning,
            ar_bins=conv.ar_bins,
            whiten_scan0=conv.whiten_scan0,
            ar_fit=conv.ar_fit,
            cov_pinv=conv.cov_pinv,
            df=conv.df,
            n_jobs=self.n_jobs,
            chunk_size=self.chunk_size,
            backend=self.backend,
            progress=self.progress,
            **spm_arguments,
        )
        if not self.minimize_memory:
            self.signals_ = Y
            self.X_ = X
        self.convention_ = conv
        self.design_matrices_ = [design]
        self.drift_basis_ = drifts
        self.mask_ = mask
        self.affine_ = affine
        self.mask_img_ = io.to_image(mask.astype(np.int8), affine)
        self.n_scans_ = n_scans
        self._spm_inference()
        return self

    def _mean_scaling(self, Y, conv):
        """nistats' standardize and mean scaling of the masked signals (``'mean_scaling'``)."""
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
        return Y

    def _spm_noise(self, Y, X, design, drifts, n_scans, conv) -> dict:
        """SPM's serial correlations V and whitening W (``ar_fit='spm_reml'``).

        'ar1': the ReML of two AR(0.2) components on the pooled covariance of the
        voxels whose effects of interest pass SPM's F test at p < 0.001
        (``refglm.glm.noise``; the F quantile is SPM's ``spm_invFcdf``); 'ols':
        :math:`V = I` (SPM's 'none'). Returns the engines' keywords.
        """
        from refglm.glm.noise import (
            SPM_UFP,
            spm_ar_components,
            spm_nonsphericity,
            spm_pooled_covariance,
            spm_whitening,
        )
        from refglm.inference.rft import spm_invFcdf

        X0 = np.zeros((n_scans, 0)) if drifts is None else drifts.to_numpy(dtype=np.float64)
        if self.noise_model == "ar1":
            pooled = spm_pooled_covariance(
                Y,
                X,
                X0,
                no_interest_columns(design),
                lambda df1, df2: spm_invFcdf(1 - SPM_UFP, df1, df2),
            )
            found = spm_nonsphericity(pooled["Cy"], X, X0, spm_ar_components(n_scans))
            V, self.reml_hyperparameters_ = found["V"], found["h"]
            self.pooled_covariance_ = pooled["Cy"]
            self.reml_voxels_ = pooled["selected"]
            self.reml_iterations_ = len(found["log"])
        else:
            V, self.reml_hyperparameters_ = np.eye(n_scans), np.zeros(0)
        W = spm_whitening(V)
        self.noise_correlation_, self.whitening_matrix_ = V, W
        return dict(whitening=W, covariance=V, drift_basis=X0)

    def _spm_inference(self):
        """SPM's smoothness and resels of a fit with standardised residuals (``'spm_reml'``)."""
        from refglm.inference.rft import spm_est_smoothness, spm_resels_vol

        space = self.fit_.design_space
        self.erdf_ = None if space is None else float(space.erdf)
        self.search_volume_ = int(np.count_nonzero(self.mask_))
        self.smoothness_ = self.resels_ = self.resels_per_voxel_ = None
        if self.fit_.std_resid is None:
            return
        # the voxels in SPM's (Fortran) order, as spm_est_smoothness sums them
        fortran = np.argsort(
            np.ravel_multi_index(np.nonzero(self.mask_), self.mask_.shape, order="F")
        )
        found = spm_est_smoothness(
            self.fit_.std_resid[:, fortran], self.mask_, self.n_scans_, space.ols_df
        )
        self.smoothness_ = found["FWHM"]
        self.resels_ = spm_resels_vol(self.mask_, self.smoothness_)
        rpv = np.empty(fortran.size)
        rpv[fortran] = found["RPV"]
        self.resels_per_voxel_ = self.to_volume(np.nan_to_num(rpv))

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
        extra = self.fit_.beta.shape[0] - C.shape[1]
        if extra:
            # SPM's design fitted voxel by voxel with its drift basis as regressors
            C = np.hstack([C, np.zeros((C.shape[0], extra))])
        return compute_contrast(
            self.fit_,
            C,
            stat_type=stat_type,
            z_method=conv.z_method,
            contrast_dtype=conv.contrast_dtype,
        )

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
            Under ``'spm12'``: ``'stat'`` is SPM's T or F (``spmT``, ``spmF``),
            ``'effect_size'`` its con image (for an F contrast, the ESS image SPM
            writes as its contrast image), and ``'z_score'`` :math:`\\Phi^{-1}(1 - p)`
            with p from T on ``erdf`` degrees of freedom (or F on ``eidf, erdf``): the
            "equivalent Z" of SPM's results table (``spm_list.m``). The float32
            images SPM writes are reproduced (``contrast_dtype``).

        Returns
        -------
        nibabel.Nifti1Image
        """
        if output_type not in OUTPUT_TYPES:
            raise InputError(f"output_type: expected one of {OUTPUT_TYPES}, found {output_type!r}.")
        result = self.contrast_result(contrast_def, stat_type)
        if output_type == "effect_size" and result.ess is not None:
            values = result.ess
        else:
            values = result.output(output_type)
        if values.ndim > 1:
            raise InputError(
                f"output_type {output_type!r}: a {result.effect.shape[0]}-row F contrast has "
                "no single effect map; request 'z_score', 'stat' or 'p_value'."
            )
        return io.to_image(
            self.to_volume(values), self.affine_, f"{output_type} of contrast {contrast_def}"
        )

    def height_threshold(
        self, alpha=0.001, height_control="fpr", stat_type="t", contrast=None
    ) -> float:
        """A voxel height threshold in the statistic's own units (t or F), as SPM12 reports it.

        Parameters
        ----------
        alpha : float
        height_control : {'fpr', 'fwe', 'fwe_rft'}
            ``'fpr'``: uncorrected, the :math:`1 - \\alpha` quantile of T on ``erdf``
            degrees of freedom (SPM's ``spm_u``: p < 0.001 gives SPM's ``u``);
            ``'fwe'``: family-wise error; under ``'spm12'`` SPM's ``spm_uc``, the random
            field threshold from the smoothness and resels of the fit, or Bonferroni's
            over the mask when that is lower (as SPM's results use it; on the unsmoothed
            auditory data Bonferroni is lower); elsewhere Bonferroni's;
            ``'fwe_rft'``: the random-field threshold alone (``spm_uc_RF``).
        stat_type : {'t', 'F'}
        contrast : contrast definition or None
            Required for F: its numerator df (SPM's ``eidf``) depends on the contrast.

        Returns
        -------
        float
            The threshold on T or F (``refglm.inference.rft.height_threshold``, by the
            convention's ``height_rule``).
        """
        from refglm.inference.rft import height_threshold

        self._check_fitted()
        if stat_type not in ("t", "F"):
            raise InputError(f"stat_type: expected 't' or 'F', found {stat_type!r}.")
        df_resid = np.unique(self.fit_.df_resid)
        if df_resid.size != 1:
            raise InputError(
                "height_threshold: expected one residual df for every voxel, found "
                f"{df_resid.size} (a per-voxel AR fit without binning); threshold p-values "
                "instead."
            )
        df1 = 1.0
        if stat_type == "F":
            if contrast is None:
                raise InputError(
                    "contrast: expected the F contrast (its numerator df, SPM's eidf, "
                    "depends on it), found None."
                )
            df1 = float(self.contrast_result(contrast, "F").df_num[0])
        return height_threshold(
            alpha,
            height_control,
            stat_type,
            (df1, float(df_resid[0])),
            self.search_volume_,
            self.resels_,
            self.convention_.height_rule,
        )

    @property
    def glm_fit_(self) -> GLMFit:
        self._check_fitted()
        return self.fit_
