"""``FirstLevelModel``: nilearn's interface over refglm's open per-voxel fit.

It computes under the nistats tutorial's convention by default; the facades
``refglm.nilearn`` (nilearn 0.14.1) and ``refglm.nistats`` (nistats 0.0.1b1) subclass it
with their library's signatures, defaults and convention.

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
from refglm.glm.contrasts import (
    ContrastResult,
    as_contrast_matrix,
    compute_contrast,
    fixed_effects_contrast,
    is_estimable,
)
from refglm.glm.engines import (
    GLMFit,
    blas_threads,
    check_engine,
    check_noise_model,
    get_engine,
    noise_order,
)
from refglm.glm.masking import (
    SPM_MASK_THRESHOLD,
    compute_epi_mask,
    mean_epi,
    multi_run_mask,
    smooth_run,
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
    standardize_signals,
)

__all__ = ["FirstLevelModel", "OUTPUT_TYPES", "check_sample_masks"]

#: ``compute_contrast``'s ``output_type``; ``'all'`` gives every one of the others, in
#: this order (nilearn 0.14.1's ``valid_types``).
OUTPUT_TYPES = ("z_score", "stat", "p_value", "effect_size", "effect_variance", "all")


def _is_volume(img) -> bool:
    """Whether ``img`` (a path or an image) is one 3-D volume, from its header."""
    shape = getattr(img, "shape", None)
    if shape is not None and not isinstance(img, np.ndarray):
        return len(shape) == 3 or (len(shape) == 4 and shape[3] == 1)
    try:
        io.run_shape(img)  # a 4-D run: its shape; a 3-D volume: refused
    except InputError:
        return True
    return False


def check_sample_masks(sample_masks, n_runs: int):
    """The scans kept in each run, as int32 index arrays (None: every scan).

    One array is one run's; booleans become the indices of True; indices must be >= 0.
    # nilearn 0.14.1 _utils/param_validation.py check_run_sample_masks: an ndarray is
    # (sample_masks,); _convert_bool2index (np.where); _cast_to_int32; "Number of
    # sample_mask ({n}) not matching number of runs ({n_runs})."

    Raises
    ------
    InputError
    """
    if sample_masks is None:
        return None
    if isinstance(sample_masks, np.ndarray):
        sample_masks = (sample_masks,)
    if not isinstance(sample_masks, list | tuple):
        raise InputError(
            f"sample_masks: expected an array or a list of arrays (one per run), found "
            f"{type(sample_masks).__name__}."
        )
    out = []
    for i, keep in enumerate(sample_masks):
        keep = np.asarray(keep)
        if keep.size and all(type(v) is bool or type(v) is np.bool_ for v in keep.tolist()):
            keep = np.flatnonzero(keep)
        elif keep.dtype == bool:
            keep = np.flatnonzero(keep)
        if keep.ndim != 1 or (keep.size and not np.issubdtype(keep.dtype, np.integer)):
            raise InputError(
                f"sample_masks[{i}]: expected the indices (or booleans) of the scans kept, "
                f"found {keep.dtype} of shape {keep.shape}."
            )
        if keep.size and keep.min() < 0:
            raise InputError(
                f"sample_masks[{i}]: expected indices >= 0 (nilearn: 'sample_mask should not "
                "contain negative values.'), found a negative one."
            )
        out.append(np.asarray(keep, dtype=np.int32))
    if len(out) != n_runs:
        raise InputError(
            f"sample_masks: expected one per run ({n_runs}), found {len(out)} (nilearn: "
            f"'Number of sample_mask ({len(out)}) not matching number of runs ({n_runs}).')."
        )
    return out


class FirstLevelModel:
    """First-level GLM of one or several fMRI runs, fitted voxel by voxel with statsmodels.

    This model computes under the ``'nistats'`` convention by default (the numbers of the
    nistats 0.0.1b1 SPM auditory tutorial); for nilearn 0.14.1's names, defaults and
    numbers use ``refglm.nilearn.FirstLevelModel``, for nistats 0.0.1b1's
    ``refglm.nistats.FirstLevelModel``.

    Parameters follow nistats/nilearn's ``FirstLevelModel``; defaults are
    nistats 0.0.1rc0's. ``fit(run_imgs, events, confounds, sample_masks,
    design_matrices)`` takes nilearn's arguments in nilearn's positions; a list of 4-D
    images is several runs, whose contrasts are fixed effects.

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
    noise_model : {'ar1', 'ols', 'ar2', ...}
        ``'arN'`` (N >= 2) under conventions with an AR(p) estimator: ``'nilearn'``
        (Yule-Walker, KMeans of the coefficients) and ``'statsmodels'`` (GLSAR of order N).
    n_jobs : int
        joblib workers of the statsmodels engine.
    minimize_memory : bool
        False keeps the scaled signals and the design as ``signals_`` and ``X_`` (every
        run's in ``run_signals_`` and ``run_designs_X_``), from which ``residuals_``,
        ``predicted_`` and ``r_square_`` are computed (as nilearn's option of that name
        keeps its per-voxel results).
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
    smoothing_fwhm : float, 3 floats or None
        Gaussian smoothing (FWHM in mm) of each run before masking, in the data's dtype,
        as nilearn's masker (``refglm.glm.masking.smooth_run``); the mask is computed
        from the unsmoothed run. Not under ``'spm12'``.
    random_state : int, numpy.random.RandomState or None
        Seed of sklearn's KMeans that groups AR(p) models (``noise_model='ar2'``, ...)
        under ``ar_p_binning='kmeans'`` (convention ``'nilearn'``).

    Attributes
    ----------
    design_matrices_ : list of pandas.DataFrame
        One design per run (its kept scans when censored): under ``'spm12'`` SPM's
        ``xX.X`` (the conditions, then ``constant``).
    fits_ : list of GLMFit
        Each run's fit (``fit_`` is the first run's).
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
        smoothing_fwhm=None,
        random_state=None,
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
        self.smoothing_fwhm = smoothing_fwhm
        self.random_state = random_state

    # ------------------------------------------------------------------ checks
    def _check_params(self, t_r_required: bool = True):
        conv = get_convention(self.convention)
        t_r = self.t_r
        if t_r is None and not t_r_required:
            pass  # given designs need no repetition time (nilearn)
        elif isinstance(t_r, bool) or not isinstance(t_r, int | float | np.number):
            raise InputError(
                f"t_r: expected a repetition time in seconds (a number > 0), found {t_r!r}; "
                "pass e.g. t_r=7 (read it from the BIDS RepetitionTime)."
            )
        elif finite_float(t_r) is None or t_r <= 0:
            found = fmt(t_r) if isinstance(t_r, int) else repr(t_r)
            raise InputError(f"t_r: expected a number > 0 seconds, found {found}; pass e.g. t_r=7.")
        check_noise_model(self.noise_model)
        order = noise_order(self.noise_model)
        if order >= 2 and (conv.ar_fit == "spm_reml" or conv.ar_p_binning == "refuse"):
            raise InputError(
                f"noise_model: expected one of ('ar1', 'ols') under convention {conv.name!r} "
                f"(nistats 0.0.1b1/rc0 and SPM12 have no AR({order}) model), found "
                f"{self.noise_model!r}; use convention='nilearn' (nilearn's AR({order}), its "
                "KMeans of the coefficients) or 'statsmodels' (GLSAR of that order)."
            )
        if order >= 2 and conv.ar_fit == "fixed" and conv.ar_estimator == "lag1_ratio":
            raise InputError(
                f"noise_model={self.noise_model!r}: expected an AR(p) estimator under "
                f"convention {conv.name!r}, found ar_estimator='lag1_ratio' (of order 1); "
                "flip ar_estimator to 'yule_walker' or 'yule_walker_voxel'."
            )
        fwhm = self.smoothing_fwhm
        if fwhm is not None and not (
            is_real_number(fwhm)
            and np.isfinite(fwhm)
            and fwhm >= 0
            or isinstance(fwhm, list | tuple | np.ndarray)
            and len(fwhm) == 3
            and all(f is None or (is_real_number(f) and np.isfinite(f) and f >= 0) for f in fwhm)
        ):
            raise InputError(
                f"smoothing_fwhm: expected None, a FWHM in mm >= 0 or three of them (x, y, "
                f"z), found {fwhm!r}; pass e.g. smoothing_fwhm=6."
            )
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
    def fit(
        self,
        run_imgs,
        events=None,
        confounds=None,
        sample_masks=None,
        design_matrices=None,
        bins=None,
    ):
        """Fit the GLM to one run or several (then contrasts are fixed effects of the runs).

        nilearn 0.14.1's ``fit`` in its positions (nistats 0.0.1b1's has ``confounds``
        third too): ``fit(img, events, confounds)`` adds the confounds to the events'
        design.

        Parameters
        ----------
        run_imgs : path, nibabel image, or list of them
            One run: a 4-D image, or the list of its 3-D volumes in order (the
            tutorial's ``subject_data.func``). Several runs: a list of 4-D images.
        events : pandas.DataFrame, path to a TSV, or a list of them (one per run)
            BIDS events (``onset``, ``duration``, optional ``trial_type`` and
            ``modulation``).
        confounds : pandas.DataFrame, array (n_scans, k), path to a .tsv/.csv, or a list
            Regressors added to each run's design after the event regressors (named by
            the DataFrame's columns, else ``confound_0 ..``; ``run.confound_regressors``).
        sample_masks : array or list of arrays (one per run), or None
            The scans kept in each run (indices, or booleans): the other scans are
            censored from the data and from the design, after the design is built on
            every scan and before the signal scaling (nilearn's ``sample_masks``).
        design_matrices : pandas.DataFrame or list of them (one per run), optional
            Designs to use instead of building them from ``events`` and ``confounds``
            (which are then ignored, with a warning).
        bins : int or None
            The number of AR bins (nilearn's ``bins``); None: the convention's ``ar_bins``.

        Returns
        -------
        self
        """
        conv = self._check_params(t_r_required=design_matrices is None)
        runs = self._as_runs(run_imgs)
        n_runs = len(runs)
        tables = self._run_tables(n_runs, events, confounds, design_matrices)
        sample_masks = check_sample_masks(sample_masks, n_runs)
        self._check_runs_for_convention(conv, n_runs, tables[1], sample_masks)
        datas, means, affine = [], [], None
        # the EPI masks' mean images are summed while the volumes are read (no second pass)
        mean_dtype = conv.mask_mean_dtype if conv.mask_method == "compute_epi_mask" else None
        for i, run in enumerate(runs):
            loaded = io.load_run(
                run, dtype=io.run_dtype(run, conv.input_dtype), mean_dtype=mean_dtype
            )
            data, run_affine = loaded[0], loaded[1]
            means.append(loaded[2] if mean_dtype is not None else None)
            del loaded
            if affine is None:
                affine = run_affine
            elif data.shape[:3] != datas[0].shape[:3] or not np.allclose(run_affine, affine):
                raise InputError(
                    f"run_imgs[{i}]: expected the grid of run 0 (shape {datas[0].shape[:3]}, "
                    "its affine), found another; resample the runs to one grid."
                )
            datas.append(data)
            del data
        # hand the only references over, so that each 4-D run is freed once masked
        return self._fit_runs(datas, affine, *tables, sample_masks, bins=bins, means=means)

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
            As :meth:`fit`, for one run.
        mask : ndarray of bool, 3-D, or None
            Voxels to fit; None uses ``mask_img``, or the EPI mask when that
            is None too.

        Returns
        -------
        self
        """
        conv = self._check_params(t_r_required=design_matrices is None)
        designs = None if design_matrices is None else self._one_run_design(design_matrices)
        self._check_runs_for_convention(conv, 1, None, None)
        return self._fit_runs(
            [data], affine, None if events is None else [events], None, designs, None, mask=mask
        )

    # ------------------------------------------------------------ fit: inputs
    def _as_runs(self, run_imgs) -> list:
        """The runs of ``run_imgs``: a list is several runs, unless its items are 3-D.

        A list (or tuple) of 4-D images is one run per item, as nilearn reads it; a list
        whose first item is a 3-D volume is one run of volumes, as the tutorial passes
        ``subject_data.func`` (nilearn would refuse it), when
        :attr:`_volumes_list_is_one_run` (the class's, not the facades').
        """
        if isinstance(run_imgs, list | tuple):
            if len(run_imgs) == 0:
                raise InputError(
                    "run_imgs: expected a 4-D image, a list of runs or a run's 3-D volumes, "
                    "found an empty list."
                )
            if self._volumes_list_is_one_run and _is_volume(run_imgs[0]):
                return [run_imgs]
            return list(run_imgs)
        return [run_imgs]

    def _one_run_design(self, design_matrices):
        """``fit_array``'s design: a DataFrame, or a list holding one."""
        if isinstance(design_matrices, list | tuple):
            if len(design_matrices) != 1:
                raise InputError(
                    f"design_matrices: expected one design for the one run, found "
                    f"{len(design_matrices)} (nilearn: 'len(run_imgs) 1 does not match "
                    f"len(design_matrices) {len(design_matrices)}')."
                )
            return list(design_matrices)
        return [design_matrices]

    def _run_tables(self, n_runs, events, confounds, design_matrices):
        """``events``, ``confounds`` and ``design_matrices`` as lists of one item per run.

        # nilearn 0.14.1 glm/first_level/first_level.py _check_fit_inputs: a non-list
        # is one run's table; "len(run_imgs) {n} does not match len({name}) {m}"; given
        # designs: "If design matrices are supplied, confounds and events will be ignored."
        """
        listed = {}
        for name, value in (
            ("events", events),
            ("confounds", confounds),
            ("design_matrices", design_matrices),
        ):
            if value is None:
                listed[name] = None
                continue
            value = list(value) if isinstance(value, list | tuple) else [value]
            if len(value) != n_runs:
                raise InputError(
                    f"{name}: expected one per run ({n_runs}), found {len(value)} (nilearn: "
                    f"'len(run_imgs) {n_runs} does not match len({name}) {len(value)}'); "
                    "pass a list with one item per run."
                )
            listed[name] = value
        if listed["design_matrices"] is not None:
            if events is not None or confounds is not None:
                warnings.warn(
                    "If design matrices are supplied, confounds and events will be ignored.",
                    UserWarning,
                    stacklevel=3,
                )
            return None, None, listed["design_matrices"]
        if listed["events"] is None:
            raise InputError(
                "events: expected a DataFrame or a TSV path, found None; pass the run's "
                "events.tsv (or design_matrices=)."
            )
        return listed["events"], listed["confounds"], None

    def _check_runs_for_convention(self, conv, n_runs, confounds, sample_masks):
        """Refuse what SPM12's model has no place for: several runs, confounds, censoring."""
        if conv.design_builder != "spm_fMRI_design":
            return
        what = []
        if n_runs > 1:
            what.append(f"{n_runs} runs (SPM estimates sessions jointly in one GLM)")
        if confounds is not None:
            what.append("confounds (SPM's multiple regressors)")
        if sample_masks is not None:
            what.append("sample_masks")
        if self.smoothing_fwhm is not None:
            what.append("smoothing_fwhm (spm_smooth is a preprocessing step)")
        if what:
            raise InputError(
                f"convention {conv.name!r}: expected one run without confounds, censoring or "
                f"smoothing (not implemented for SPM12's model), found {'; '.join(what)}; use "
                "convention='nistats' or 'nilearn'."
            )

    # ------------------------------------------------------------ fit: steps
    def _fit_runs(
        self,
        runs: list,
        affine,
        events,
        confounds,
        designs,
        sample_masks,
        mask=None,
        bins=None,
        means=None,
    ):
        """Fit every run of ``runs`` (4-D arrays on one grid), which it empties.

        Each 4-D array is released as soon as its signals are masked out of it (when
        the caller holds no other reference: :meth:`fit` does not), so that it and
        the engine's working memory are never held together. ``means``: each run's
        ``mean_epi(data, conv.mask_mean_dtype)`` when the loader computed it, or None.
        """
        means = [None] * len(runs) if means is None else means
        conv = self._check_params(t_r_required=designs is None)
        n_runs = len(runs)
        for data in runs:
            if data.ndim != 4:
                raise InputError(
                    f"data: expected a 4-D run (x, y, z, n_scans), found shape {data.shape}; "
                    "pass every scan of the run."
                )
        built = []
        for i, data in enumerate(runs):
            n_scans = data.shape[3]
            design, X = run_design(
                self,
                None if events is None else events[i],
                None if designs is None else designs[i],
                n_scans,
                None if confounds is None else confounds[i],
            )
            keep = None if sample_masks is None else sample_masks[i]
            if keep is not None:
                # nilearn 0.14.1 _fit_single_run: the design built on every scan (full rank
                # included), then design.iloc[sample_mask, :]
                if keep.size and keep.max() >= n_scans:
                    raise InputError(
                        f"sample_masks[{i}]: expected scan indices below {n_scans}, found "
                        f"{int(keep.max())}."
                    )
                design, X = design.iloc[keep, :], X[keep]
            built.append((design, X, keep))
        drifts = drift_basis(self, runs[0].shape[3])

        data = runs[0]
        if conv.mask_method == "compute_epi_mask":
            mean = means[0] if means[0] is not None else mean_epi(data, conv.mask_mean_dtype)
            self.mean_img_data_ = mean.astype(np.float64)
        else:  # SPM's implicit mask uses no mean image: the mean, for figures only
            self.mean_img_data_ = np.mean(data, axis=3, dtype=np.float64)
        # count the NaN/Inf voxels before any mask: compute_epi_mask sets them to 0
        # (nilearn's ensure_finite), which would drop them silently
        finite = _finite_voxels(data, self.mean_img_data_)
        for other, other_mean in zip(runs[1:], means[1:], strict=True):
            finite &= _finite_voxels(other, other_mean)
        n_bad = int(finite.size - np.count_nonzero(finite))
        if n_bad == finite.size:
            raise InputError(
                f"run: expected finite values, found NaN or Inf in all {n_bad} voxels; check "
                "the functional images (a failed conversion?)."
            )
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
        elif self.mask_img is False:
            # nilearn 0.14.1 FirstLevelModel._prepare_mask: mask_img=False, every voxel
            mask = np.ones(data.shape[:3], dtype=bool)
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
            masks = [compute_epi_mask(mean)]
            if n_runs > 1 and conv.multi_run_mask != "first_run":
                # each run's EPI mask, from its own (unsmoothed) mean
                masks += [
                    compute_epi_mask(
                        other_mean
                        if other_mean is not None
                        else mean_epi(other, conv.mask_mean_dtype)
                    )
                    for other, other_mean in zip(runs[1:], means[1:], strict=True)
                ]
            mask = multi_run_mask(masks, conv.multi_run_mask)
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
        del data

        fits, signals = [], []
        for i in range(n_runs):
            design, X, keep = built[i]
            # the run's only reference goes to _fit_one_run, which drops it once masked
            Y, fit = self._fit_one_run(runs, i, affine, mask, X, design, drifts, keep, conv, bins)
            fits.append(fit)
            signals.append(Y if not self.minimize_memory else None)
            del Y

        self.fits_ = fits
        self.fit_ = fits[0]
        if not self.minimize_memory:
            self.signals_ = signals[0]
            self.X_ = built[0][1]
            self.run_signals_ = signals
            self.run_designs_X_ = [b[1] for b in built]
        self.convention_ = conv
        self.design_matrices_ = [b[0] for b in built]
        self.drift_basis_ = drifts
        self.mask_ = mask
        self.affine_ = affine
        self.mask_img_ = io.to_image(mask.astype(np.int8), affine)
        self.n_scans_ = built[0][1].shape[0]
        with self._model_blas_threads():
            self._spm_inference()
        return self

    def _model_blas_threads(self):
        """BLAS threads for the model's own SPM steps (ReML, whitening, smoothness).

        Under ``engine='vectorized'``, the engine's rule
        (:func:`refglm.glm.engines.blas_threads`: ``n_jobs`` threads, 1 by default);
        otherwise BLAS's own default.
        """
        return blas_threads(self.n_jobs if self.engine == "vectorized" else None)

    def _fit_one_run(self, runs, i, affine, mask, X, design, drifts, keep, conv, bins):
        """The masked, censored, scaled signals of run ``runs[i]`` and its engine fit.

        The run is taken out of ``runs`` (``runs[i] = None``), so that the 4-D array is
        freed once its signals are masked out: a caller's local or argument would keep
        it, and the engine's working memory, alive together.
        """
        data, runs[i] = runs[i], None
        if self.smoothing_fwhm is not None:
            # nilearn 0.14.1 maskers/base_masker.py filter_and_extract: the whole 4-D
            # image smoothed before masking, in the data's dtype (image.smooth_array)
            data = smooth_run(data, affine, self.smoothing_fwhm)
        if conv.scaling_method == "spm_global":
            # SPM12: the data SPM reads are raw*gSF, in double precision
            # (gathered scan by scan as below, then scaled in place)
            Y = spm_scale(_masked_signals(data, mask, np.float64), self.scale_factors_, True)
        else:
            # nilearn masker: series = data[mask].T, shape (n_scans, n_voxels), then
            # signal.py _sanitize_signals: signals.copy() (C order) and _ensure_float.
            Y = _masked_signals(data, mask, signal_dtype(data.dtype))
        del data
        if keep is not None:
            # nilearn 0.14.1 signal.py _censor_signals: signals[sample_mask, :], before
            # the mean scaling (whose mean is then over the kept scans)
            Y = Y[keep]
        if hasattr(self.progress, "begin"):
            self.progress.begin(Y.shape[1])
        if conv.scaling_method != "spm_global":
            Y = self._mean_scaling(Y, conv)

        engine_X, spm_arguments = X, {}
        self.reml_hyperparameters_ = self.noise_correlation_ = None
        self.whitening_matrix_ = self.pooled_covariance_ = None
        self.reml_voxels_ = self.reml_iterations_ = None
        if conv.ar_fit == "spm_reml":
            with self._model_blas_threads():
                spm_arguments = self._spm_noise(Y, X, design, drifts, X.shape[0], conv)
        elif drifts is not None:
            # SPM's design fitted voxel by voxel: its drift basis enters as regressors
            engine_X = np.column_stack([X, drifts.to_numpy(dtype=np.float64)])

        fit = get_engine(self.engine)(
            Y,
            engine_X,
            noise_model=self.noise_model,
            ar_estimator=conv.ar_estimator,
            ar_binning=conv.ar_binning,
            ar_bins=conv.ar_bins if bins is None else int(bins),
            whiten_scan0=conv.whiten_scan0,
            ar_fit=conv.ar_fit,
            cov_pinv=conv.cov_pinv,
            df=conv.df,
            df_scale=conv.df_scale,
            ar_p_binning=conv.ar_p_binning,
            random_state=self.random_state,
            n_jobs=self.n_jobs,
            chunk_size=self.chunk_size,
            backend=self.backend,
            progress=self.progress,
            **spm_arguments,
        )
        return Y, fit

    def _mean_scaling(self, Y, conv):
        """nistats' standardize and mean scaling of the masked signals (``'mean_scaling'``).

        ``standardize=True`` z-scores each voxel (``refglm.glm.scaling.standardize_signals``
        with the convention's ``standardize_ddof``) only when ``signal_scaling`` is False
        and the convention's ``standardize_rule`` is ``'without_scaling'`` (nistats);
        nilearn 0.14.1 never does (``'never'``).
        """
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
            # in Y's dtype, with the convention's ddof: nistats' nilearn 0.6
            # signal._standardize('zscore') is ddof 0, nilearn's 'zscore_sample' ddof 1
            Y = standardize_signals(Y, conv.standardize_ddof)
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
            self.fit_.std_resid, self.mask_, self.n_scans_, space.ols_df, columns=fortran
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

    #: Whether a contrast outside the design's row space is refused (NotEstimableError);
    #: the facades, like nistats and nilearn, compute it (with a warning) instead.
    _refuse_inestimable = True
    #: Whether a list of 3-D volumes is one run (the tutorial's ``subject_data.func``);
    #: nilearn's facade reads every list as runs.
    _volumes_list_is_one_run = True
    #: Whether ``compute_contrast`` still reads a list of expressions on one run as the
    #: rows of an F test (refglm 0.1's reading, deprecated); the facades raise as nilearn.
    _strings_list_is_f_rows = True

    def _run_contrast(self, run: int, contrast_def, stat_type=None) -> ContrastResult:
        """The contrast ``contrast_def`` of run ``run``, translated on that run's columns."""
        design = self.design_matrices_[run]
        C = as_contrast_matrix(contrast_def, design.columns)
        if not is_estimable(C, design.to_numpy(dtype=np.float64)):
            message = (
                f"contrast {contrast_def!r}: not estimable with this rank-deficient design "
                "(it is not in the row space of X)"
            )
            if self._refuse_inestimable:
                raise NotEstimableError(f"{message}; drop or merge collinear columns.")
            warnings.warn(
                f"{message}: its value depends on the pseudo-inverse (nistats' and nilearn's "
                "numbers are given).",
                UserWarning,
                stacklevel=4,
            )
        conv = self.convention_
        fit = self.fits_[run]
        extra = fit.beta.shape[0] - C.shape[1]
        if extra:
            # SPM's design fitted voxel by voxel with its drift basis as regressors
            C = np.hstack([C, np.zeros((C.shape[0], extra))])
        return compute_contrast(
            fit,
            C,
            stat_type=stat_type,
            z_method=conv.z_method,
            contrast_dtype=conv.contrast_dtype,
        )

    def _runs_contrast(self, definitions, stat_type=None) -> ContrastResult:
        """One definition per run; one run's result, or the fixed effects of the runs.

        A run whose contrast is all zero is left out with a warning (nilearn's "Contrast
        for run {i} is null."); the others are combined by
        ``refglm.glm.contrasts.fixed_effects_contrast``.
        """
        if len(definitions) == 1:
            return self._run_contrast(0, definitions[0], stat_type)
        results = []
        for run, definition in enumerate(definitions):
            numeric = not isinstance(definition, str) and not (
                isinstance(definition, list | tuple) and any(isinstance(d, str) for d in definition)
            )
            if numeric and np.all(np.asarray(definition, dtype=np.float64) == 0):
                warnings.warn(f"Contrast for run {run} is null.", UserWarning, stacklevel=3)
                continue
            results.append(self._run_contrast(run, definition, stat_type))
        if not results:
            raise InputError(
                "contrast: expected a contrast that is not null in some run, found "
                "'All contrasts provided were null contrasts.'"
            )
        return fixed_effects_contrast(results, self.convention_.z_method)

    def contrast_result(self, contrast_def, stat_type=None) -> ContrastResult:
        """All maps of a contrast as arrays over the mask (a ``ContrastResult``).

        ``contrast_def`` is one contrast (an expression, a vector, a matrix or a list of
        expressions, each a row of an F test), the same for every run; with several
        runs the result is their fixed effects.
        """
        self._check_fitted()
        return self._runs_contrast([contrast_def] * len(self.fits_), stat_type)

    def to_volume(self, values: np.ndarray) -> np.ndarray:
        """Put per-voxel values back on the 3-D grid (0 outside the mask).

        ``values`` of shape (k, n_voxels) give a 4-D array of k volumes.
        """
        values = np.asarray(values)
        if values.ndim == 2:
            vol = np.zeros((*self.mask_.shape, values.shape[0]), dtype=np.float64)
            vol[self.mask_] = values.T
            return vol
        vol = np.zeros(self.mask_.shape, dtype=np.float64)
        vol[self.mask_] = values
        return vol

    def _contrast_list(self, contrast_def) -> list:
        """nilearn's list rule: one contrast per run, or one for all (with a warning).

        # nilearn 0.14.1 glm/first_level/first_level.py compute_contrast: an ndarray or a
        # str is [contrast_def]; a list or tuple one per run; one contrast and several
        # runs: RuntimeWarning "The same contrast will be used for all {n} runs."; else
        # ValueError "{n_contrasts} contrasts given, while there are {n_runs} runs."
        """
        if isinstance(contrast_def, np.ndarray | str):
            definitions = [contrast_def]
        elif isinstance(contrast_def, list | tuple):
            definitions = list(contrast_def)
        else:
            raise InputError(
                f"contrast_def: expected an array or str or list of (array or str), found "
                f"{type(contrast_def).__name__}."
            )
        n_runs = len(self.fits_)
        if (
            self._strings_list_is_f_rows
            and n_runs == 1
            and len(definitions) > 1
            and all(isinstance(d, str) for d in definitions)
        ):
            warnings.warn(
                f"compute_contrast({definitions!r}): a list holds one contrast per run (nistats, "
                "nilearn); read as the rows of one F test on this one run, as refglm 0.1 did. "
                "This reading is deprecated: pass contrast_result(list) or a matrix "
                "(np.vstack of the rows) for an F test.",
                DeprecationWarning,
                stacklevel=3,
            )
            return [list(definitions)]
        if len(definitions) == 1 and n_runs > 1:
            warnings.warn(
                f"The same contrast will be used for all {n_runs} runs. If the design "
                "matrices are not the same for all runs, pass the contrast as an expression "
                "of the conditions' names.",
                RuntimeWarning,
                stacklevel=3,
            )
            definitions = definitions * n_runs
        elif len(definitions) != n_runs:
            hint = ""
            if n_runs == 1 and all(isinstance(d, str) for d in definitions):
                hint = (
                    f"; an F test of these rows is compute_contrast(np.vstack(...)) or "
                    f"contrast_result({list(definitions)!r})"
                )
            raise InputError(
                f"contrast_def: {len(definitions)} contrasts given, while there are "
                f"{n_runs} runs (a list holds one contrast per run){hint}."
            )
        return definitions

    def compute_contrast(self, contrast_def, stat_type=None, output_type="z_score"):
        """A contrast map as a ``nibabel.Nifti1Image`` (a dict of them for ``'all'``).

        Parameters
        ----------
        contrast_def : str, array, or list of them (one per run)
            An expression over the design's columns (``"active - rest"``), a vector, or a
            matrix (an F test). A list (or tuple) holds one contrast per run, as in
            nistats and nilearn; one contrast for several runs is used for all (warning),
            and several runs give the fixed effects of the runs
            (``refglm.glm.contrasts.fixed_effects_contrast``). With one run, a list of
            several expressions is still read as the rows of an F test, with a
            DeprecationWarning (refglm 0.1's reading; the facades ``refglm.nilearn`` and
            ``refglm.nistats`` refuse it, as nilearn does): an F test is
            ``contrast_result(['a', 'b'])`` or a matrix.
        stat_type : {'t', 'F'} or None
            None: 't' for one row, 'F' for several.
        output_type : {'z_score', 'stat', 'p_value', 'effect_size', 'effect_variance', 'all'}
            ``'all'`` gives a dict of the five maps in this order. For an F contrast,
            ``'effect_size'`` is the whitened effect :math:`(C V C^T)^{-1/2} C\\hat\\beta`,
            a 4-D image of q volumes, and ``'effect_variance'`` the residual variance, as
            nistats and nilearn compute them.
            Under ``'spm12'``: ``'stat'`` is SPM's T or F (``spmT``, ``spmF``),
            ``'effect_size'`` its con image (for an F contrast, the ESS image SPM
            writes as its contrast image), and ``'z_score'`` :math:`\\Phi^{-1}(1 - p)`
            with p from T on ``erdf`` degrees of freedom (or F on ``eidf, erdf``): the
            "equivalent Z" of SPM's results table (``spm_list.m``). The float32
            images SPM writes are reproduced (``contrast_dtype``).

        Returns
        -------
        nibabel.Nifti1Image, or dict of them
        """
        if output_type not in OUTPUT_TYPES:
            raise InputError(f"output_type: expected one of {OUTPUT_TYPES}, found {output_type!r}.")
        self._check_fitted()
        definitions = self._contrast_list(contrast_def)
        result = self._runs_contrast(definitions, stat_type)
        types = OUTPUT_TYPES[:-1] if output_type == "all" else (output_type,)
        outputs = {}
        for kind in types:
            if kind == "effect_size" and result.ess is not None:
                values = result.ess
            else:
                values = result.output(kind)
            if values.ndim > 1 and not (result.stat_type == "F" and result.f_effect is not None):
                raise InputError(
                    f"output_type {kind!r}: a {result.effect.shape[0]}-row F contrast has "
                    "no single effect map; request 'z_score', 'stat' or 'p_value'."
                )
            name = definitions[0] if len(definitions) == 1 else definitions
            outputs[kind] = io.to_image(
                self.to_volume(values), self.affine_, f"{kind} of contrast {name}"
            )
        return outputs if output_type == "all" else outputs[output_type]

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
        if len(self.fits_) > 1:
            raise InputError(
                f"height_threshold: expected one run, found {len(self.fits_)}; threshold the "
                "fixed-effects z map (map_threshold) instead."
            )
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

    # ------------------------------------------------ residuals, predictions, R squared
    def _voxelwise(self, attribute: str) -> list:
        r"""nilearn's ``residuals_``, ``predicted_`` or ``r_square_``: one image per run.

        With each voxel's whitened design :math:`\tilde X` (its model's AR coefficients,
        the first scans as the convention's ``whiten_scan0`` says; :math:`\tilde X = X` for
        OLS), its estimates :math:`\hat\beta` and its scaled, censored data :math:`Y`:

        .. math::
            \mathrm{predicted} = \tilde X\hat\beta,\quad
            \mathrm{residuals} = Y - \tilde X\hat\beta,\quad
            R^2 = \frac{\mathrm{var}(\tilde X\hat\beta)}{\mathrm{var}(\tilde Y)}

        (population variances over scans; :math:`\tilde Y = Y` for OLS, in Y's dtype,
        as nilearn's ``OLSModel.whiten`` returns it). Under AR these mix whitened and
        unwhitened quantities, as nilearn's do.
        # nilearn 0.14.1 glm/regression.py RegressionResults.predicted (whitened_design @
        # theta), residuals (Y - predicted), r_square (np.var(predicted, 0) /
        # np.var(whitened_Y, 0)); glm/first_level/first_level.py
        # _get_element_wise_model_attribute (zeros outside the mask, one image per run)
        """
        self._check_fitted()
        if self.minimize_memory:
            raise AttributeError(
                f"{attribute}_: expected a model fitted with minimize_memory=False (it keeps "
                "the signals these are computed from), found minimize_memory=True; set "
                "minimize_memory=False when initializing the FirstLevelModel."
            )
        if self.convention_.ar_fit == "spm_reml":
            raise InputError(
                f"{attribute}_: expected a voxel-by-voxel fit, found SPM's whitened, filtered "
                "fit (convention 'spm12'); not implemented there."
            )
        images = []
        for fit, Y, X in zip(self.fits_, self.run_signals_, self.run_designs_X_, strict=True):
            images.append(self.to_volume(_voxelwise_values(attribute, fit, Y, X)))
        return [io.to_image(values, self.affine_) for values in images]

    @property
    def residuals_(self) -> list:
        """Per run, the residuals :math:`Y - \\tilde X\\hat\\beta` (:meth:`_voxelwise`)."""
        return self._voxelwise("residuals")

    @property
    def predicted_(self) -> list:
        """Per run, the predictions :math:`\\tilde X\\hat\\beta` (:meth:`_voxelwise`)."""
        return self._voxelwise("predicted")

    @property
    def r_square_(self) -> list:
        """Per run, :math:`R^2` (4-D images of one volume; :meth:`_voxelwise`)."""
        return self._voxelwise("r_square")

    # --------------------------------------------------- sklearn's parameter protocol
    @classmethod
    def _param_names(cls) -> list:
        import inspect

        return [
            p.name
            for p in inspect.signature(cls.__init__).parameters.values()
            if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        ]

    def get_params(self, deep: bool = True) -> dict:
        """The ``__init__`` parameters as ``{name: value}`` (sklearn's ``BaseEstimator``).

        ``sklearn.base.clone`` builds ``type(model)(**model.get_params(deep=False))``, so a
        model clones without sklearn being a dependency of refglm.
        """
        del deep  # no parameter is an estimator
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params):
        """Set ``__init__`` parameters by name; return the model (sklearn's ``BaseEstimator``).

        Raises
        ------
        InputError
            For a name that is not a parameter.
        """
        valid = self._param_names()
        for name, value in params.items():
            if name not in valid:
                raise InputError(
                    f"set_params: expected a parameter of {type(self).__name__} "
                    f"({', '.join(valid)}), found {name!r}."
                )
            setattr(self, name, value)
        return self


def _voxelwise_values(attribute: str, fit: GLMFit, Y: np.ndarray, X: np.ndarray) -> np.ndarray:
    """:meth:`FirstLevelModel._voxelwise` of one run, as (n_rows, V) or (1, V) values."""
    from refglm.glm.noise import ar_whiten

    order = fit.ar_order
    if order and fit.whiten_scan0 not in ("keep", "prais_winsten"):
        raise InputError(
            f"{attribute}_: expected whitening that keeps every scan (whiten_scan0 'keep'), "
            f"found {fit.whiten_scan0!r} (statsmodels' GLSAR drops the first scans); not "
            "implemented for that convention."
        )
    n, v = Y.shape
    out = np.zeros((1 if attribute == "r_square" else n, v))
    if not order:  # one model, the whole (C-ordered) Y, as nilearn's OLS result holds it
        groups = [np.ones(v, dtype=bool)]
    else:
        coef = fit.whitening_coef
        groups = [fit.labels == k for k in np.unique(fit.labels)]
    for members in groups:
        if order:
            # nilearn: ARModel(X, ar_coef_[labels == val][0]).fit(Y[:, labels == val]);
            # the boolean selection gives the same memory layout, hence the same sums
            first = coef[np.flatnonzero(members)[0]]
            first = first if order > 1 else first[0]
            wX = ar_whiten(X, first, fit.whiten_scan0)
        else:
            wX = X
        y = Y[:, members] if order else Y
        predicted = wX @ fit.beta[:, members]
        if attribute == "predicted":
            out[:, members] = predicted
        elif attribute == "residuals":
            out[:, members] = y - predicted
        else:
            wY = ar_whiten(y, first, fit.whiten_scan0) if order else y
            out[:, members] = np.var(predicted, 0) / np.var(wY, 0)
    return out


def _finite_voxels(data: np.ndarray, mean: np.ndarray | None) -> np.ndarray:
    """``np.isfinite(data).all(axis=3)``, read off the run's mean image where it is finite.

    A sum of scans with a NaN or an infinity among them is not finite (NaN and
    infinities propagate through additions), so a voxel whose mean is finite has
    finite scans; only the voxels whose mean is not finite (a non-finite scan, or
    finite scans whose sum overflows) are looked at scan by scan. Without a mean,
    every voxel is.
    """
    if mean is None:
        return np.isfinite(data).all(axis=3)
    finite = np.isfinite(mean)
    if not finite.all():
        suspects = ~finite
        finite[suspects] = np.isfinite(data[suspects]).all(axis=-1)
    return finite


def _masked_signals(data: np.ndarray, mask: np.ndarray, dtype) -> np.ndarray:
    """``np.ascontiguousarray(data[mask].T, dtype=dtype)``, gathered scan by scan.

    For a Fortran-ordered run (``io.load_run``'s, nibabel's) each scan is one
    contiguous volume: the masked voxels of scan t (in the C order of the grid, as
    ``data[mask]`` lists them) are taken straight into row t of the result, with no
    masked copy of the run in between.
    """
    if not data.flags.f_contiguous:
        return np.ascontiguousarray(data[mask].T, dtype=dtype)
    voxels = np.ravel_multi_index(np.nonzero(mask), mask.shape, order="F")
    volumes = data.reshape(-1, data.shape[3], order="F")  # a view: one column per scan
    Y = np.empty((data.shape[3], voxels.size), dtype=dtype)
    for t in range(data.shape[3]):
        if Y.dtype == data.dtype:
            np.take(volumes[:, t], voxels, out=Y[t])
        else:
            Y[t] = volumes[:, t][voxels]
    return Y
