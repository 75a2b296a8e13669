"""Named conventions: the small, documented choices on which GLM engines differ.

One row per convention, one field per choice. Each choice's accepted values are
defined once, in the module of its GLM step, which implements it;
:data:`CHOICE_VALUES` is built from them, and the conventions select by name:

=======================  ====================================================
field                    values defined and implemented in
=======================  ====================================================
input_dtype              ``refglm.io.dtypes``: ``run_dtype``
mask_method              ``refglm.glm.masking``: ``compute_epi_mask``,
                         ``spm_implicit_mask``
mask_mean_dtype          ``refglm.glm.masking``: ``mean_epi``
multi_run_mask           ``refglm.glm.masking``: ``multi_run_mask``
scaling_method           ``refglm.glm.scaling``: ``mean_scaling``, ``spm_global``
scaling_dtype            ``refglm.glm.scaling``: ``mean_scaling``
standardize_rule         ``refglm.glm.scaling`` (``FirstLevelModel`` applies it)
standardize_ddof         ``refglm.glm.scaling``: ``standardize_signals``
ar_estimator             ``refglm.glm.noise``: ``estimate_rho``
ar_binning, ar_bins      ``refglm.glm.noise``: ``bin_rho``
ar_p_binning             ``refglm.glm.noise``: ``cluster_ar`` (AR(p), p >= 2)
ar_fit                   ``refglm.glm.engines`` (``ITERATIVE_REQUIRES``);
                         ``'spm_reml'``: ``refglm.glm.noise.spm_reml``
whiten_scan0             ``refglm.glm.noise``: ``ar1_whiten``
df                       ``refglm.glm.engines`` (``spm_design_space``)
df_scale                 ``refglm.glm.engines`` (``DF_SCALES``;
                         ``statsmodels.residual_variance``)
cov_pinv                 ``refglm.glm.engines``: ``pinv_cov``
design_builder           ``refglm.glm.design.formulas`` (``DESIGN_BUILDERS``;
                         SPM12's in ``refglm.glm.design.spm``)
hrf_formula              ``refglm.glm.design.formulas`` (``DESIGN_FORMULAS``)
contrast_dtype           ``refglm.glm.contrasts``: ``compute_contrast``
z_method                 ``refglm.glm.contrasts``: ``z_from_p``
height_rule              ``refglm.inference.rft``: ``height_threshold``
two_sided                ``refglm.inference.voxel`` (thresholds' default)
fdr_formula              ``refglm.inference.voxel``: ``fdr_threshold``
cluster_connectivity     ``refglm.inference.labels``: ``connectivity_structure``
threshold_keep_equal     ``refglm.inference.threshold_map``
threshold_split_signs    ``refglm.inference.threshold_map``
cluster_table_two_sided  ``refglm.inference.cluster_table`` (tables' default)
cluster_table_rules      ``refglm.inference.cluster_table``
=======================  ====================================================

A convention is a frozen dataclass; :meth:`Convention.flipped` derives a
variant with some choices changed, named by its base and its changes
(``nistats+ar_estimator=yule_walker``, ``nilearn+ar_binning=round+ar_bins=1000``),
which is how ``docs/conventions.md`` measures each choice and how
``refglm compare --explain`` attributes a difference to one choice.
:func:`get_convention` accepts those names back.

Some choices constrain others. ``ar_fit='iterative'`` is statsmodels'
``GLSAR(y, X, rho=1).iterative_fit()``, which estimates rho with statsmodels'
``yule_walker`` (each voxel demeaned), never bins it and drops scan 0; so it
requires ``ar_estimator='yule_walker_voxel'``, ``ar_binning='none'`` and
``whiten_scan0='drop'`` (:data:`ITERATIVE_REQUIRES`), and a convention that
asks for anything else is refused rather than silently fitted as GLSAR. SPM12's
effective degrees of freedom, ``df='spm_effective'``, need the one serial
correlation matrix of its ReML, so they require ``ar_fit='spm_reml'``
(:data:`EFFECTIVE_DF_REQUIRES`). A choice that cannot act under a convention
(``ar_bins`` when ``ar_binning='none'``; the per-voxel AR choices under SPM's ReML;
the nistats/nilearn formulas under SPM's design, mask or scaling) is listed by
:meth:`Convention.inert_choices`.

The value of each choice, and where it comes from, is written next to it in
:data:`CONVENTIONS`; ``CHOICE_VALUES`` lists the values each choice accepts.
:meth:`Convention.threshold_options` and :meth:`Convention.cluster_table_options`
turn a convention into the arguments of ``refglm.inference``'s thresholds and
cluster tables: the one mapping that the image API (``refglm.first_level``) and
``refglm compare`` both use.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace

from refglm.exceptions import InputError
from refglm.glm.contrasts import CONTRAST_DTYPES, Z_METHODS
from refglm.glm.design.formulas import DESIGN_BUILDERS, HRF_FORMULAS
from refglm.glm.engines import (
    AR_FITS,
    COV_PINVS,
    DF_RULES,
    DF_SCALES,
    EFFECTIVE_DF_REQUIRES,
    ITERATIVE_REQUIRES,
    noise_order,
)
from refglm.glm.masking import MASK_MEAN_DTYPES, MASK_METHODS, MULTI_RUN_MASKS
from refglm.glm.noise import AR_BINNINGS, AR_ESTIMATORS, AR_P_BINNINGS, WHITEN_SCAN0
from refglm.glm.scaling import (
    SCALING_DTYPES,
    SCALING_METHODS,
    STANDARDIZE_DDOFS,
    STANDARDIZE_RULES,
)
from refglm.inference.cluster_table import CLUSTER_TABLE_RULES
from refglm.inference.labels import CONNECTIVITIES
from refglm.inference.rft import HEIGHT_RULES
from refglm.inference.voxel import FDR_FORMULAS
from refglm.io.dtypes import INPUT_DTYPES

__all__ = [
    "Convention",
    "CONVENTIONS",
    "CHOICE_FIELDS",
    "CHOICE_VALUES",
    "AR_CHOICES",
    "ITERATIVE_REQUIRES",
    "EFFECTIVE_DF_REQUIRES",
    "SPM_AR_CHOICES",
    "DEFAULT_CONVENTION",
    "get_convention",
]


@dataclass(frozen=True)
class Convention:
    """The choices of one GLM implementation, one field per choice.

    See the module docstring for the table of fields and the module that
    implements each; :data:`CHOICE_VALUES` for the accepted values.
    """

    name: str
    input_dtype: str
    mask_method: str
    mask_mean_dtype: str
    multi_run_mask: str
    scaling_method: str
    scaling_dtype: str
    standardize_rule: str
    standardize_ddof: int
    ar_estimator: str
    ar_binning: str
    ar_bins: int
    ar_p_binning: str
    ar_fit: str
    whiten_scan0: str
    df: str
    df_scale: str
    cov_pinv: str
    design_builder: str
    hrf_formula: str
    contrast_dtype: str
    z_method: str
    height_rule: str
    two_sided: bool
    fdr_formula: str
    cluster_connectivity: int
    threshold_keep_equal: bool
    threshold_split_signs: bool
    cluster_table_two_sided: bool
    cluster_table_rules: str

    def __post_init__(self):
        for key in CHOICE_FIELDS:
            value = getattr(self, key)
            allowed = CHOICE_VALUES[key]
            if allowed is int:
                ok = isinstance(value, int) and not isinstance(value, bool) and value > 0
            else:
                ok = any(value == a and type(value) is type(a) for a in allowed)
            if not ok:
                expected = "a positive int" if allowed is int else f"one of {allowed}"
                raise InputError(
                    f"convention {self.name!r}, choice {key}: expected {expected}, found "
                    f"{value!r}; pick a value from refglm.conventions.CHOICE_VALUES[{key!r}]."
                )
        if self.ar_fit == "iterative":
            wrong = {
                key: getattr(self, key)
                for key, value in ITERATIVE_REQUIRES.items()
                if getattr(self, key) != value
            }
            if wrong:
                found = ", ".join(f"{k}={v!r}" for k, v in wrong.items())
                needed = ", ".join(f"{k}={ITERATIVE_REQUIRES[k]!r}" for k in wrong)
                raise InputError(
                    f"convention {self.name!r}, choice ar_fit='iterative': expected "
                    f"{', '.join(f'{k}={v!r}' for k, v in ITERATIVE_REQUIRES.items())} "
                    "(statsmodels GLSAR.iterative_fit estimates rho with yule_walker, never "
                    f"bins it and drops scan 0), found {found}; use the 'statsmodels' "
                    f"convention, or also set {needed}."
                )
        wrong = {k: v for k, v in EFFECTIVE_DF_REQUIRES.items() if getattr(self, k) != v}
        if self.df == "spm_effective" and wrong:
            found = ", ".join(f"{k}={v!r}" for k, v in wrong.items())
            raise InputError(
                f"convention {self.name!r}, choice df='spm_effective': expected "
                f"{', '.join(f'{k}={v!r}' for k, v in EFFECTIVE_DF_REQUIRES.items())} (SPM's "
                f"effective df need the one serial correlation matrix of its ReML), found "
                f"{found}; use df='nobs_minus_rank', or ar_fit='spm_reml'."
            )

    def inert_choices(self, noise_model: str = "ar1") -> tuple[str, ...]:
        """The choices that cannot change a fit under this convention.

        - ``noise_model='ols'`` uses no AR choice (:data:`AR_CHOICES`);
        - ``ar_p_binning`` acts on AR(p) models of order p >= 2 only, under
          ``ar_fit='fixed'``; ``ar_binning`` on AR(1) only;
        - ``ar_bins`` is unused when ``ar_binning='none'`` (statsmodels' ``GLSAR`` too);
          for AR(p) it is the number of KMeans clusters (``ar_p_binning='kmeans'``);
        - ``standardize_ddof`` is unused when the rule never standardizes
          (``standardize_rule='never'``);
        - SPM's ReML (``ar_fit='spm_reml'``) estimates no per-voxel rho
          (:data:`SPM_AR_CHOICES`);
        - SPM's design (``design_builder='spm_fMRI_design'``) reads none of the
          nistats/nilearn ``hrf_formula`` formulas;
        - SPM's implicit mask (``mask_method='spm_implicit'``) computes no mean image
          (``mask_mean_dtype``);
        - SPM's scaling (``scaling_method='spm_global'``) is in float64 and never
          standardizes (``scaling_dtype``, ``standardize_rule``, ``standardize_ddof``);
          SPM's ReML fit divides by its own ``trRV`` or df (``df_scale``).

        ``multi_run_mask`` acts with several runs only; a convention cannot know the
        runs, so it is never listed.
        """
        order = noise_order(noise_model)
        inert = list(AR_CHOICES) if order == 0 else []
        if self.ar_fit == "spm_reml":
            inert += [*SPM_AR_CHOICES, "df_scale"]
        elif self.ar_fit == "iterative" or order == 1:
            inert.append("ar_p_binning")
            if self.ar_binning == "none":
                inert.append("ar_bins")
        elif order >= 2:
            inert.append("ar_binning")
            if self.ar_p_binning != "kmeans":
                inert.append("ar_bins")
        elif self.ar_binning == "none":
            inert.append("ar_bins")
        if self.mask_method == "spm_implicit":
            inert.append("mask_mean_dtype")
        if self.scaling_method == "spm_global":
            inert += ["scaling_dtype", "standardize_rule", "standardize_ddof"]
        elif self.standardize_rule == "never":
            inert.append("standardize_ddof")
        if self.design_builder == "spm_fMRI_design":
            inert.append("hrf_formula")
        return tuple(key for key in CHOICE_FIELDS if key in inert)

    def as_dict(self) -> dict:
        """All fields, ``name`` first, as a plain dict."""
        return asdict(self)

    def choices(self) -> dict:
        """The choices only (every field but ``name``)."""
        return {key: getattr(self, key) for key in CHOICE_FIELDS}

    def flipped(self, **changes) -> Convention:
        """A copy with some choices changed, named ``base+field=value+...``.

        The name lists, in :data:`CHOICE_FIELDS` order, every choice that differs
        from the named convention it derives from (``nilearn+ar_binning=round``),
        so that :func:`get_convention` gives the same convention back from it.

        Raises
        ------
        InputError
            For an unknown field, a value the field does not accept, or a
            combination the table refuses (see :data:`ITERATIVE_REQUIRES`).
        """
        unknown = [k for k in changes if k not in CHOICE_FIELDS]
        if unknown:
            raise InputError(
                f"convention choice {unknown[0]!r}: expected one of {', '.join(CHOICE_FIELDS)}; "
                "check the spelling against refglm.conventions.CHOICE_FIELDS."
            )
        base_name = self.name.split("+", 1)[0]
        base = CONVENTIONS.get(base_name)
        label_changes = dict(changes)
        if base is not None:
            merged = {**self.choices(), **changes}
            label_changes = {k: merged[k] for k in CHOICE_FIELDS if merged[k] != getattr(base, k)}
            name = base_name
        else:
            name = self.name
        name += "".join(f"+{k}={v}" for k, v in label_changes.items())
        return replace(self, name=name, **changes)

    def threshold_options(self, two_sided=None) -> dict:
        """The keywords of ``refglm.inference.map_threshold`` under this convention.

        ``two_sided`` None takes the convention's default (:attr:`two_sided`).
        The one mapping from a convention to the threshold numerics, used by
        the image-level ``map_threshold`` and by ``refglm compare``.
        """
        return dict(
            two_sided=self.two_sided if two_sided is None else bool(two_sided),
            fdr_formula=self.fdr_formula,
            connectivity=self.cluster_connectivity,
            keep_equal=self.threshold_keep_equal,
            split_signs=self.threshold_split_signs,
        )

    def cluster_table_options(self, two_sided=None) -> dict:
        """The keywords of ``refglm.inference.get_clusters_table`` under this convention.

        ``two_sided`` None takes the convention's default for tables
        (:attr:`cluster_table_two_sided`: nilearn's tables are one-sided by
        default although its thresholds are not).
        """
        return dict(
            two_sided=self.cluster_table_two_sided if two_sided is None else bool(two_sided),
            connectivity=self.cluster_connectivity,
            rules=self.cluster_table_rules,
        )

    def differences(self, other: Convention) -> dict:
        """``{field: (self's value, other's value)}`` for every choice that differs."""
        return {
            key: (getattr(self, key), getattr(other, key))
            for key in CHOICE_FIELDS
            if getattr(self, key) != getattr(other, key)
        }


CHOICE_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Convention) if f.name != "name")

#: The choices of the AR noise models (none acts under ``noise_model='ols'``).
AR_CHOICES: tuple[str, ...] = (
    "ar_estimator",
    "ar_binning",
    "ar_bins",
    "ar_p_binning",
    "ar_fit",
    "whiten_scan0",
)
#: The per-voxel AR choices, unused by SPM's global ReML (``ar_fit='spm_reml'``).
SPM_AR_CHOICES: tuple[str, ...] = (
    "ar_estimator",
    "ar_binning",
    "ar_bins",
    "ar_p_binning",
    "whiten_scan0",
)

_BOOLS = (False, True)

#: Accepted values of every choice (``int``: any positive integer), from the step modules.
CHOICE_VALUES: dict[str, tuple | type] = {
    "input_dtype": INPUT_DTYPES,
    "mask_method": MASK_METHODS,
    "mask_mean_dtype": MASK_MEAN_DTYPES,
    "multi_run_mask": MULTI_RUN_MASKS,
    "scaling_method": SCALING_METHODS,
    "scaling_dtype": SCALING_DTYPES,
    "standardize_rule": STANDARDIZE_RULES,
    "standardize_ddof": STANDARDIZE_DDOFS,
    "ar_estimator": AR_ESTIMATORS,
    "ar_binning": AR_BINNINGS,
    "ar_bins": int,
    "ar_p_binning": AR_P_BINNINGS,
    "ar_fit": AR_FITS,
    "whiten_scan0": WHITEN_SCAN0,
    "df": DF_RULES,
    "df_scale": DF_SCALES,
    "cov_pinv": COV_PINVS,
    "design_builder": DESIGN_BUILDERS,
    "hrf_formula": HRF_FORMULAS,
    "contrast_dtype": CONTRAST_DTYPES,
    "z_method": Z_METHODS,
    "height_rule": HEIGHT_RULES,
    "two_sided": _BOOLS,
    "fdr_formula": FDR_FORMULAS,
    "cluster_connectivity": tuple(CONNECTIVITIES),
    "threshold_keep_equal": _BOOLS,
    "threshold_split_signs": _BOOLS,
    "cluster_table_two_sided": _BOOLS,
    "cluster_table_rules": CLUSTER_TABLE_RULES,
}


CONVENTIONS: dict[str, Convention] = {
    # nistats 0.0.1b1/0.0.1rc0, as the SPM auditory tutorial ran it.
    "nistats": Convention(
        name="nistats",
        # nistats first_level_model.py fit: check_niimg(run_img, ensure_ndim=4) keeps a 4-D
        # image's stored dtype; the tutorial stacked its 96 3-D volumes with nilearn
        # image.concat_imgs, whose dtype=np.float32 default gives float32 (a list of 3-D
        # volumes is not one run to FirstLevelModel, so it must be stacked first).
        input_dtype="native",
        # nistats first_level_model.py fit: NiftiMasker(mask_strategy='epi') ->
        # nilearn masking.compute_epi_mask
        mask_method="compute_epi_mask",
        # nilearn masking.compute_epi_mask -> image._compute_mean: data.mean(axis=-1) in
        # the data's own dtype (float32 for the tutorial)
        mask_mean_dtype="input",
        # nistats 0.0.1b1 first_level_model.py fit: self.masker_.fit(run_imgs[0]), the
        # EPI mask of the first run for every run (0.0.1rc0 line 414: the same)
        multi_run_mask="first_run",
        # nistats first_level_model.py fit: mean_scaling(Y, signal_scaling)
        scaling_method="mean_scaling",
        # nistats first_level_model.py mean_scaling: 100 * (Y / mean - 1) in Y's dtype
        scaling_dtype="input",
        # nistats FirstLevelModel.__init__: standardize = False is enforced when
        # signal_scaling is 0, 1 or (0, 1); with signal_scaling=False it z-scores
        standardize_rule="without_scaling",
        # nistats' NiftiMasker(standardize=True) -> nilearn 0.6 signal._standardize
        # ('zscore'): signals / signals.std(axis=0), ddof 0; measured live against
        # nistats 0.0.1rc0 by tests/first_level/test_standardize_nistats.py
        standardize_ddof=0,
        # nistats first_level_model.py run_glm: sum(r_t r_{t-1}) / sum(r_t^2)
        ar_estimator="lag1_ratio",
        # nistats run_glm: (ar1 * bins).astype(np.int) * 1. / bins, bins=100
        ar_binning="truncate",
        ar_bins=100,
        # nistats 0.0.1b1 run_glm: noise_model must be 'ar1' or 'ols' (rc0: the same)
        ar_p_binning="refuse",
        # nistats run_glm: one ARModel per binned rho, no iteration
        ar_fit="fixed",
        # nistats regression.py ARModel.whiten keeps scan 0 unscaled
        whiten_scan0="keep",
        # nistats regression.py OLSModel.initialize: df = n - matrix_rank(X)
        df="nobs_minus_rank",
        # nistats 0.0.1b1 regression.py OLSModel.fit lines 199-200 (rc0 220-221):
        # dispersion = sum(wresid**2) / (wdesign.shape[0] - wdesign.shape[1])
        df_scale="columns",
        # nistats regression.py OLSModel.initialize: calc_beta = scipy.linalg.pinv(X~),
        # normalized_cov_beta = calc_beta @ calc_beta.T
        cov_pinv="scipy",
        # nistats design_matrix.py make_first_level_design_matrix
        design_builder="make_first_level_design_matrix",
        # nistats hemodynamic_models.py _gamma_difference_hrf (hrf.HRF_CHOICES['nistats'])
        hrf_formula="nistats",
        # nistats contrasts.py compute_contrast: float64 throughout
        contrast_dtype="float64",
        # nistats utils.py z_score: norm.isf(clip(p, 1e-300, 1 - 1e-16))
        z_method="isf_clipped",
        # nistats thresholding.py map_threshold: scipy.stats (norm.isf), Bonferroni alpha/n
        height_rule="scipy",
        # nistats 0.0.1b1 thresholding.py map_threshold was one-sided: the tutorial
        # prints 3.090 = norm.isf(.001). (0.0.1rc0 added two_sided=True as default.)
        two_sided=False,
        # nistats thresholding.py fdr_threshold: alpha * linspace(.5/n, 1 - .5/n, n)
        fdr_formula="nistats",
        # scipy.ndimage.label default structure (faces): 6-connectivity
        cluster_connectivity=6,
        # nistats map_threshold keeps stat > threshold, strictly
        threshold_keep_equal=False,
        # nistats thresholding.py: label(np.abs(stat_map) > threshold), both signs together
        threshold_split_signs=False,
        # nistats reporting/_get_clusters_table.py: positive clusters only
        cluster_table_two_sided=False,
        # nistats reporting/_get_clusters_table.py _local_max and get_clusters_table
        cluster_table_rules="nistats",
    ),
    # nilearn 0.14.1: FirstLevelModel, threshold_stats_img, get_clusters_table.
    "nilearn": Convention(
        name="nilearn",
        # nilearn 0.14.1 FirstLevelModel.fit treats a list as several runs, so one run of
        # 3-D volumes is stacked with image.concat_imgs (image.py, dtype=np.float32
        # default); a 4-D image keeps its stored dtype (image.check_niimg, dtype=None),
        # and NiftiMasker signals keep it (integers -> float32/float64 by
        # signal._ensure_float). Verified: tests/peers/test_nilearn.py.
        input_dtype="native",
        # nilearn 0.14.1 FirstLevelModel.fit: NiftiMasker(mask_strategy='epi')
        mask_method="compute_epi_mask",
        # nilearn 0.14.1 image/image.py compute_mean: mean_data.mean(axis=-1), data dtype
        mask_mean_dtype="input",
        # nilearn 0.14.1 masking.py compute_multi_epi_mask -> intersect_masks(threshold=0.5):
        # the voxels of more than half of the runs' EPI masks, largest component
        multi_run_mask="more_than_half",
        # nilearn 0.14.1 glm/first_level/first_level.py mean_scaling
        scaling_method="mean_scaling",
        # nilearn 0.14.1 glm/first_level/first_level.py mean_scaling, in the signals' dtype
        scaling_dtype="input",
        # nilearn 0.14.1 FirstLevelModel.fit: `if self.signal_scaling in [0, 1, (0, 1)]:
        # self.standardize_ = None` is also true for signal_scaling=False (False == 0),
        # so the masker never standardizes
        standardize_rule="never",
        # unused (standardize_rule='never'); 'zscore_sample' would be ddof 1
        standardize_ddof=1,
        # nilearn PR #2532 (0.7), first_level.py _yule_walker: demeaned by the global mean
        # of all residuals, r(k) = sum(e_t e_{t-k}) / (n - k), rho = r(1) / r(0)
        ar_estimator="yule_walker",
        # nilearn 0.14.1 run_glm: (ar_coef_ * bins).astype(int) * 1.0 / bins, bins=100
        ar_binning="truncate",
        ar_bins=100,
        # nilearn 0.14.1 run_glm, AR(N > 1): KMeans(n_clusters=min(bins, n_voxels),
        # n_init=10, random_state).fit(ar_coef_), models named by the rounded centres
        ar_p_binning="kmeans",
        ar_fit="fixed",
        # nilearn 0.14.1 glm/regression.py ARModel.whiten: scan 0 copied unscaled
        whiten_scan0="keep",
        # nilearn 0.14.1 regression.py OLSModel.initialize: df = n - matrix_rank(X)
        df="nobs_minus_rank",
        # nilearn 0.14.1 glm/regression.py OLSModel.fit lines 196-198: dispersion =
        # sum(wresid**2) / (wdesign.shape[0] - wdesign.shape[1]); checked on censored
        # (rank-deficient) designs by tests/peers/test_nilearn_api.py
        df_scale="columns",
        # nilearn 0.14.1 glm/regression.py OLSModel.initialize: calc_beta =
        # scipy.linalg.pinv(X~), normalized_cov_beta = calc_beta @ calc_beta.T
        cov_pinv="scipy",
        # nilearn 0.14.1 glm/first_level/design_matrix.py make_first_level_design_matrix
        design_builder="make_first_level_design_matrix",
        # nilearn PR #3297 (gamma scale), PR #4452 (Glover ratio .48), PR #3362 (t_r), PR
        # #2553 (event accumulation), PR #2680 (duplicate events): hrf/design 'nilearn'
        hrf_formula="nilearn",
        # nilearn 0.14.1 glm/contrasts.py compute_contrast: float64 throughout
        contrast_dtype="float64",
        # nilearn PR #2567, glm/_utils.py z_score: norm.ppf(cdf) where norm.isf(p) < 0
        z_method="two_tailed_ppf",
        # nilearn 0.14.1 glm/thresholding.py: scipy.stats (norm.isf), Bonferroni alpha/n
        height_rule="scipy",
        # nilearn 0.14.1 glm/thresholding.py threshold_stats_img(two_sided=True)
        two_sided=True,
        # nilearn PR #3137, thresholding.py fdr_threshold: alpha * linspace(1/n, 1, n)
        fdr_formula="bh",
        # nilearn 0.14.1 image/image.py _apply_cluster_size_threshold: ndimage.label default
        cluster_connectivity=6,
        # nilearn PR #6130, image/image.py threshold_img keeps |stat| >= threshold
        threshold_keep_equal=True,
        # nilearn 0.14.1 image/image.py _apply_cluster_size_threshold: one sign at a time
        threshold_split_signs=True,
        # nilearn 0.14.1 reporting/get_clusters_table.py get_clusters_table(two_sided=False)
        cluster_table_two_sided=False,
        # nilearn 0.14.1 reporting/get_clusters_table.py: threshold_img first, zero voxels
        # never peaks, constant clusters and off-cluster centres of mass handled
        cluster_table_rules="nilearn",
    ),
    # statsmodels 0.14 GLSAR, as a textbook fit: the nistats convention with the AR(1)
    # fit replaced by sm.GLSAR(y, X, rho=1).iterative_fit() voxel by voxel.
    "statsmodels": Convention(
        name="statsmodels",
        input_dtype="native",
        mask_method="compute_epi_mask",
        mask_mean_dtype="input",
        multi_run_mask="first_run",
        scaling_method="mean_scaling",
        scaling_dtype="input",
        standardize_rule="without_scaling",
        standardize_ddof=0,
        # statsmodels regression/linear_model.py GLSAR.iterative_fit -> yule_walker(resid,
        # order=1, method='adjusted', demean=True): each voxel demeaned by its own mean
        ar_estimator="yule_walker_voxel",
        # statsmodels GLSAR: rho used as estimated
        ar_binning="none",
        # unused with ar_binning='none' (Convention.inert_choices); the table's default
        ar_bins=100,
        # statsmodels GLSAR(y, X, rho=p) does not group voxels (unused under
        # ar_fit='iterative', which fits GLSAR(rho=p).iterative_fit per voxel)
        ar_p_binning="none",
        # statsmodels GLSAR.iterative_fit(maxiter=3): fit, re-estimate rho, refit. It
        # requires the three choices above and below (ITERATIVE_REQUIRES): they are what
        # iterative_fit does, so this row is the only iterative fit the table can express.
        ar_fit="iterative",
        # statsmodels linear_model.py GLSAR.whiten returns _x[self.order:]: scan 0 dropped
        whiten_scan0="drop",
        # statsmodels RegressionModel: df_resid = nobs - rank = (n - 1) - p
        df="nobs_minus_rank",
        # statsmodels RegressionResults.scale = ssr / df_resid (nobs - rank)
        df_scale="rank",
        # statsmodels RegressionModel.fit(method='pinv'): normalized_cov_params from
        # tools.pinv_extended(wexog) (numpy SVD, rcond=1e-15)
        cov_pinv="statsmodels",
        design_builder="make_first_level_design_matrix",
        hrf_formula="nistats",
        contrast_dtype="float64",
        z_method="isf_clipped",
        height_rule="scipy",
        two_sided=False,
        fdr_formula="nistats",
        cluster_connectivity=6,
        threshold_keep_equal=False,
        threshold_split_signs=False,
        cluster_table_two_sided=False,
        cluster_table_rules="nistats",
    ),
    # SPM12 r7771 (spm/spm12 03ac9473), first-level statistics as its batch
    # (spm.stats.fmri_spec, fmri_est Classical, con) computes them: checked against SPM12
    # run under Octave 7.3 by tests/peers/test_spm12.py (validation/peers/spm12/).
    "spm12": Convention(
        name="spm12",
        # spm_vol / @file_array/subsref.m: the scans are read in double precision
        input_dtype="float64",
        # spm_spm.m lines 591, 596: Y > xM.TH in every scan, any(diff(Y)); no explicit mask
        mask_method="spm_implicit",
        # inert (Convention.inert_choices): the implicit mask computes no mean image
        mask_mean_dtype="input",
        # SPM12 estimates several sessions as one GLM (spm_fmri_spm_ui.m), not a fixed
        # effect of per-run fits: several runs are refused under this convention
        multi_run_mask="first_run",
        # spm_global.c, spm_fmri_spm_ui.m lines 318-330: gSF = 100/mean(g) (global 'None')
        # or 100/g (global 'Scaling'); the data are raw*gSF
        scaling_method="spm_global",
        # inert: SPM scales in double precision and never standardizes
        scaling_dtype="float64",
        standardize_rule="never",
        standardize_ddof=1,
        # inert: SPM's ReML estimates no per-voxel AR coefficient
        ar_estimator="lag1_ratio",
        ar_binning="none",
        ar_bins=100,
        # SPM12's serial correlations are AR(1) (spm_Ce('ar', n, 0.2)): no AR(p)
        ar_p_binning="refuse",
        # spm_est_non_sphericity.m, spm_reml.m, spm_Ce.m ('ar', 0.2): one V for the volume,
        # W = spm_sqrtm(spm_inv(V)) with |W| <= 1e-6 zeroed (spm_spm.m 440-444); the data
        # and design whitened then filtered, KWY and KWX (spm_spm.m 448, 620)
        ar_fit="spm_reml",
        # inert: W is a full matrix, no scan is dropped
        whiten_scan0="keep",
        # spm_spm.m lines 453-462, 632: ResMS = ResSS/trRV, erdf = trRV^2/trRVRV,
        # Bcov = pKX*xX.V*pKX'
        df="spm_effective",
        # inert: SPM divides ResSS by trRV (or by its df under df='nobs_minus_rank')
        df_scale="rank",
        # spm_spm.m line 452: pKX = spm_sp('x-', xKXs)
        cov_pinv="spm",
        # spm_fMRI_design.m, spm_get_ons.m, spm_get_bf.m, spm_hrf.m: microtime grid
        # (fmri_t 16, fmri_t0 8), conditions and one constant; drifts in K (spm_filter.m)
        design_builder="spm_fMRI_design",
        # inert: spm_fMRI_design reads none of the nistats/nilearn formulas
        hrf_formula="nistats",
        # spm_contrasts.m lines 136-141, 176-182, 217-219, 272-274: con/ess from the
        # float32 beta images, spmT/spmF from the float32 con/ess images
        contrast_dtype="float32_images",
        # spm_list.m line 469: the "equivalent Z", Ze = spm_invNcdf(1 - p)
        z_method="isf_clipped",
        # spm_u.m (spm_invTcdf/spm_invFcdf bisection) and spm_uc.m (min of spm_uc_RF and
        # spm_uc_Bonf), as the results of spm_getSPM use them
        height_rule="spm",
        # spm_getSPM.m: a T contrast tests c'beta > 0 (one-sided); Q = find(Z > u), line 810
        two_sided=False,
        # spm_uc_FDR.m: Fi = (1:S)'/S*q (Benjamini-Hochberg)
        fdr_formula="bh",
        # spm_max.m line 47, spm_bwlabel(vol, 18): clusters are 18-connected
        cluster_connectivity=18,
        # spm_getSPM.m line 810: Z > u, strictly
        threshold_keep_equal=False,
        # spm_getSPM.m: one sign per contrast (a T map is thresholded from above)
        threshold_split_signs=False,
        # spm_list.m: the table of one contrast lists its positive peaks
        cluster_table_two_sided=False,
        # not SPM's: spm_list.m's table (3 peaks per cluster 8 mm apart, FWE/FDR columns)
        # is not reproduced; nistats' rules are the closest refglm implements
        cluster_table_rules="nistats",
    ),
}

DEFAULT_CONVENTION = "nistats"


def _parse_value(key: str, text: str, name: str):
    """The value of choice ``key`` written as ``text`` in a convention name."""
    allowed = CHOICE_VALUES[key]
    if allowed is int:
        if text.strip().isdigit():
            return int(text)
    else:
        for value in allowed:
            if str(value) == text.strip():
                return value
    expected = "a positive int" if allowed is int else f"one of {', '.join(map(str, allowed))}"
    raise InputError(
        f"convention {name!r}, choice {key}: expected {expected}, found {text!r}; pick a "
        f"value from refglm.conventions.CHOICE_VALUES[{key!r}]."
    )


def get_convention(convention) -> Convention:
    """Look a convention up by name (or pass a :class:`Convention` through).

    A name is a convention of :data:`CONVENTIONS`, optionally followed by
    changed choices, ``name+choice=value[+choice=value...]`` (what
    :meth:`Convention.flipped` and ``refglm compare --explain`` print), e.g.
    ``nilearn+ar_binning=round`` or ``nistats+ar_bins=1000+two_sided=True``.

    Raises
    ------
    InputError
        For a base name that is not in :data:`CONVENTIONS`, a malformed or
        unknown choice, a value the choice does not accept, or a combination
        the table refuses.
    """
    if isinstance(convention, Convention):
        return convention
    if not isinstance(convention, str):
        raise InputError(
            f"convention: expected one of {', '.join(CONVENTIONS)}, found {convention!r}; "
            "pick a name from refglm.conventions.CONVENTIONS."
        )
    base_name, *parts = convention.split("+")
    base = CONVENTIONS.get(base_name.strip())
    if base is None:
        raise InputError(
            f"convention: expected one of {', '.join(CONVENTIONS)}, optionally followed by "
            f"+choice=value, found {convention!r}; pick a name from "
            "refglm.conventions.CONVENTIONS."
        )
    changes = {}
    for part in parts:
        key, sep, text = part.partition("=")
        key = key.strip()
        if not sep or key not in CHOICE_FIELDS:
            raise InputError(
                f"convention {convention!r}: expected name+choice=value with a choice among "
                f"{', '.join(CHOICE_FIELDS)}, found {part!r}; write e.g. "
                "'nilearn+ar_binning=round'."
            )
        changes[key] = _parse_value(key, text, convention)
    return base.flipped(**changes) if changes else base
