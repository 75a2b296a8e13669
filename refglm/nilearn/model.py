"""nilearn 0.14.1's ``FirstLevelModel``: its 23 parameters and defaults, under convention 'nilearn'.

A subclass of :class:`refglm.first_level.FirstLevelModel` that fixes the convention
and copies nilearn's signatures: ``__init__`` (23 parameters), ``fit(run_imgs,
events=None, confounds=None, sample_masks=None, design_matrices=None, bins=100)``,
``compute_contrast(contrast_def, stat_type=None, output_type='z_score')``,
``generate_report(...)``, sklearn's ``get_params``/``set_params`` (so that
``sklearn.base.clone`` works), and the fitted attributes nilearn's users read:
``design_matrices_``, ``labels_``, ``results_``, ``masker_``, ``mask_img_``,
``n_elements_``, ``fir_delays_``, ``standardize_``, ``memory_``, and, with
``minimize_memory=False``, ``residuals_``, ``predicted_``, ``r_square_`` (and the
deprecated ``residuals``, ``predicted``, ``r_square``).

As nilearn does: a list of images is several runs (contrasts are their fixed
effects), a list of contrasts is one per run, a contrast outside the row space of a
rank-deficient design is computed (with a warning) rather than refused.

The fits run on refglm's vectorized engine, tested equal to the statsmodels
reference within 1e-10 (``tests/glm/engines/test_vectorized.py``); set the class
attribute ``engine = 'statsmodels'`` (on a subclass or an instance) for the
voxel-by-voxel statsmodels loop.
"""

from __future__ import annotations

import warnings
from types import SimpleNamespace

import numpy as np

from refglm import io
from refglm.exceptions import InputError
from refglm.first_level.model import FirstLevelModel as _ReferenceModel

__all__ = ["FirstLevelModel", "FittedMasker", "nilearn_results"]

#: nilearn's design parameters, warned about when designs are given (``_check_fit_inputs``).
_DESIGN_DEFAULTS = {
    "drift_model": "cosine",
    "drift_order": 1,
    "fir_delays": None,
    "high_pass": 0.01,
    "hrf_model": "glover",
    "min_onset": -24,
    "slice_time_ref": 0.0,
    "t_r": None,
}


class FittedMasker:
    """The analysis mask as nilearn's fitted ``NiftiMasker`` is used: transform and back.

    ``mask_img_`` is the mask; :meth:`transform` gives the (n_scans, n_voxels) signals
    of a 4-D image (or the (1, n_voxels) values of a 3-D one) over the mask, in the
    image's order (C order over the mask, as nilearn); :meth:`inverse_transform` puts
    (n_voxels,) or (k, n_voxels) values back on the grid, 0 outside the mask.
    """

    def __init__(self, mask: np.ndarray, affine: np.ndarray):
        self.mask_ = np.asarray(mask, dtype=bool)
        self.affine_ = np.asarray(affine, dtype=np.float64)
        self.mask_img_ = io.to_image(self.mask_.astype(np.int8), self.affine_)

    def transform(self, imgs):
        """Signals of ``imgs`` over the mask, shape (n_scans, n_voxels), float64."""
        data, _ = io.image_data(imgs)
        if data.ndim == 3:
            return data[self.mask_][None]
        return np.ascontiguousarray(data[self.mask_].T)

    def inverse_transform(self, X):
        """Values over the mask back to an image (3-D for (V,), 4-D for (k, V))."""
        X = np.asarray(X, dtype=np.float64)
        if X.ndim == 1:
            vol = np.zeros(self.mask_.shape)
            vol[self.mask_] = X
        else:
            vol = np.zeros((*self.mask_.shape, X.shape[0]))
            vol[self.mask_] = X.T
        return io.to_image(vol, self.affine_)


class FirstLevelModel(_ReferenceModel):
    """nilearn 0.14.1's ``FirstLevelModel``, computed by refglm under convention 'nilearn'.

    ``from nilearn.glm.first_level import FirstLevelModel`` becomes ``from
    refglm.nilearn import FirstLevelModel``: the same parameters, defaults and
    positions, and nilearn's numbers (max |Δ| ≤ 1e-10 in effects and variances,
    ≤ 1e-6 in z, ``tests/peers/test_nilearn_api.py``).

    Parameters
    ----------
    t_r, slice_time_ref, hrf_model, drift_model, high_pass, drift_order, fir_delays, \
min_onset
        The design (``fir_delays=None`` is ``[0]``; ``hrf_model`` may be a callable
        ``f(t_r, oversampling)`` or a list of them).
    mask_img : image, path, False or None
        None: the EPI mask of each run, voxels in more than half of them kept;
        False: every voxel.
    target_affine, target_shape
        None only: refglm does not resample (InputError otherwise).
    smoothing_fwhm : float, 3 floats or None
        Gaussian smoothing (mm) of each run before masking (nilearn's masker).
    memory, memory_level, verbose, reports, subject_label
        Stored; no caching, no log (they change no number).
    standardize : bool
        Stored; nilearn 0.14.1 never standardizes the signals (``standardize_`` is None
        for every accepted ``signal_scaling``), and neither does this model.
    signal_scaling : {0, 1, (0, 1), False}
    noise_model : {'ols', 'ar1', 'ar2', ...}
        AR(N >= 2): nilearn's Yule-Walker coefficients clustered by sklearn's KMeans
        with ``random_state`` (scikit-learn needed).
    n_jobs : int
    minimize_memory : bool
        False keeps the signals: ``residuals_``, ``predicted_``, ``r_square_``.
    random_state : int, RandomState or None
    """

    convention = "nilearn"
    engine = "vectorized"
    chunk_size = 2048
    backend = None
    progress = None
    oversampling = None
    microtime_onset = None
    global_normalization = None
    implicit_mask_threshold = None
    modulators = None
    _refuse_inestimable = False
    _volumes_list_is_one_run = False
    _strings_list_is_f_rows = False

    def __init__(
        self,
        t_r=None,
        slice_time_ref=0.0,
        hrf_model="glover",
        drift_model="cosine",
        high_pass=0.01,
        drift_order=1,
        fir_delays=None,
        min_onset=-24,
        mask_img=None,
        target_affine=None,
        target_shape=None,
        smoothing_fwhm=None,
        memory=None,
        memory_level=1,
        standardize=False,
        signal_scaling=0,
        noise_model="ar1",
        verbose=0,
        n_jobs=1,
        minimize_memory=True,
        subject_label=None,
        random_state=None,
        reports=True,
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
        self.target_affine = target_affine
        self.target_shape = target_shape
        self.smoothing_fwhm = smoothing_fwhm
        self.memory = memory
        self.memory_level = memory_level
        self.standardize = standardize
        self.signal_scaling = signal_scaling
        self.noise_model = noise_model
        self.verbose = verbose
        self.n_jobs = n_jobs
        self.minimize_memory = minimize_memory
        self.subject_label = subject_label
        self.random_state = random_state
        self.reports = reports

    def fit(
        self,
        run_imgs,
        events=None,
        confounds=None,
        sample_masks=None,
        design_matrices=None,
        bins=100,
    ):
        """Fit the GLM to each run, as nilearn 0.14.1 (``FirstLevelModel.fit``).

        Parameters
        ----------
        run_imgs : image, path, or list of them (one per run)
        events : DataFrame, path, or list of them (one per run)
        confounds : DataFrame, array, path, or list of them (one per run)
        sample_masks : array or list of arrays (one per run)
            The scans kept (indices or booleans); the others are censored.
        design_matrices : DataFrame or list of them (one per run)
        bins : int, default 100
            AR(1) bins; for AR(N >= 2) the number of KMeans clusters.

        Returns
        -------
        self
        """
        if self.target_affine is not None or self.target_shape is not None:
            raise InputError(
                "target_affine, target_shape: expected None (refglm does not resample), found "
                "a target; resample the images first (nilearn.image.resample_img)."
            )
        if isinstance(self.mask_img, FittedMasker):
            raise InputError(
                "mask_img: expected an image, a path, False or None, found a masker; pass "
                "its mask_img_."
            )
        if not any(
            self.signal_scaling == allowed and type(self.signal_scaling) is type(allowed)
            for allowed in (False, 0, 1, (0, 1))
        ):
            raise InputError(
                f"signal_scaling: expected one of False, 0, 1, (0, 1), found "
                f"{self.signal_scaling!r}."
            )
        if design_matrices is not None:
            changed = [
                name
                for name, default in _DESIGN_DEFAULTS.items()
                if getattr(self, name) is not default and getattr(self, name) != default
            ]
            if changed:
                warnings.warn(
                    f"If design matrices are supplied, these parameters are ignored: "
                    f"{', '.join(changed)}.",
                    UserWarning,
                    stacklevel=2,
                )
        super().fit(run_imgs, events, confounds, sample_masks, design_matrices, bins)
        self.fir_delays_ = [0] if self.fir_delays is None else self.fir_delays
        # nilearn 0.14.1 fit: standardize_ is None whenever signal_scaling is accepted
        self.standardize_ = None
        self.memory_ = self.memory
        self.masker_ = FittedMasker(self.mask_, self.affine_)
        self.n_elements_ = int(np.count_nonzero(self.mask_))
        self.labels_, self.results_ = [], []
        for fit in self.fits_:
            labels, results = nilearn_results(fit)
            self.labels_.append(labels)
            self.results_.append(results)
        return self

    def compute_contrast(self, contrast_def, stat_type=None, output_type="z_score"):
        """nilearn's ``compute_contrast`` (the reference model's, its list rule).

        A list holds one contrast per run (one contrast for several runs: used for all,
        with a warning); several runs give their fixed effects. ``output_type='all'``
        gives a dict of the five maps; an F contrast's ``effect_size`` is the 4-D image of
        its whitened effects.
        """
        return super().compute_contrast(contrast_def, stat_type, output_type)

    # ------------------------------------------------------ deprecated nilearn aliases
    def _deprecated(self, name):
        warnings.warn(
            f"'{name}' is deprecated; use '{name}_' instead.", FutureWarning, stacklevel=3
        )
        return getattr(self, f"{name}_")

    @property
    def residuals(self) -> list:
        """Deprecated alias of ``residuals_`` (FutureWarning), as in nilearn 0.14.1."""
        return self._deprecated("residuals")

    @property
    def predicted(self) -> list:
        """Deprecated alias of ``predicted_`` (FutureWarning), as in nilearn 0.14.1."""
        return self._deprecated("predicted")

    @property
    def r_square(self) -> list:
        """Deprecated alias of ``r_square_`` (FutureWarning), as in nilearn 0.14.1."""
        return self._deprecated("r_square")

    # ---------------------------------------------------------------------- report
    def generate_report(
        self,
        contrasts=None,
        first_level_contrast=None,
        title=None,
        bg_img="MNI152TEMPLATE",
        threshold=None,
        alpha=0.001,
        cluster_threshold=0,
        height_control="fpr",
        two_sided=False,
        min_distance=8.0,
        plot_type="slice",
        cut_coords=None,
        display_mode=None,
        report_dims=(1600, 800),
    ):
        """The HTML report of the fit, drawn by ``refglm.report`` (an :class:`HTMLReport`).

        nilearn's signature; the report is refglm's (``refglm.report.write_products``):
        the design, the mask, and for each contrast its z map thresholded by
        ``threshold_stats_img(alpha, height_control, threshold, cluster_threshold,
        two_sided)`` and its cluster table (``get_clusters_table``). The maps are drawn
        over the run's mean image (``bg_img`` other than the mean is not drawn).
        """
        from refglm.nilearn.reporting import build_report

        self._check_fitted()
        return build_report(
            self,
            contrasts,
            title=title,
            threshold=threshold,
            alpha=alpha,
            cluster_threshold=cluster_threshold,
            height_control=height_control,
            two_sided=two_sided,
            min_distance=min_distance,
        )


def nilearn_results(fit):
    """nilearn's ``labels_`` and ``results_`` entries of one run's fit.

    Labels: 0.0 for OLS, ``str(rho)`` for AR(1), the rounded centres joined by ``_``
    for AR(N) (``model_names``); each result holds the model's ``theta``,
    ``dispersion``, ``df_residuals`` and ``normalized_cov_beta``, as nilearn's
    (``SimpleRegressionResults``) holds them for its contrasts.
    """
    order = fit.ar_order
    if order == 0:
        labels = np.zeros(fit.n_voxels)
        names = [0.0]
    elif order == 1 and fit.model_names is None:
        labels = np.array([str(v) for v in fit.rho])
        names = [str(v) for v in np.unique(fit.rho)]
    else:
        names = list(fit.model_names) if fit.model_names is not None else None
        if names is None:  # every voxel its own model (no grouping)
            labels = np.arange(fit.n_voxels)
            names = list(labels)
        else:
            labels = np.asarray(names)[fit.labels]
    results = {}
    for k, name in enumerate(names):
        members = fit.labels == k if order else np.ones(fit.n_voxels, dtype=bool)
        results[name] = SimpleNamespace(
            theta=fit.beta[:, members],
            dispersion=fit.sigma2[members],
            df_residuals=float(fit.df_resid[members][0]),
            normalized_cov_beta=fit.cov_unscaled[k if order else 0],
        )
    return labels, results
