"""Named conventions: the small, documented choices on which GLM engines differ.

One row per convention, one field per choice. Each choice is implemented once,
in the module of its GLM step, and selected here by name:

=====================  =====================================  ==========================
field                  values                                 implemented in
=====================  =====================================  ==========================
input_dtype            'float32', 'float64'                   io.load_run
ar_estimator           'lag1_ratio', 'yule_walker'            noise.estimate_rho
ar_binning             'truncate', 'round', 'none'            noise.bin_rho
ar_bins                int                                    noise.bin_rho
ar_fit                 'fixed', 'iterative'                   fit.run_glm
whiten_scan0           'keep', 'drop', 'prais_winsten'        noise.ar1_whiten
df                     'nobs_minus_rank'                      fit.run_glm (statsmodels)
hrf_formula            'nistats', 'nilearn'                   hrf / design
z_method               'isf_clipped', 'two_tailed_ppf'        contrasts.z_from_p
two_sided              False, True (default for thresholds)   thresholds.map_threshold
fdr_formula            'nistats', 'bh'                        thresholds.fdr_threshold
cluster_connectivity   6, 18, 26                              clusters / thresholds
threshold_keep_equal   False, True                            thresholds.map_threshold
=====================  =====================================  ==========================
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace

from refglm.exceptions import InputError

__all__ = ["Convention", "CONVENTIONS", "get_convention", "DEFAULT_CONVENTION"]


@dataclass(frozen=True)
class Convention:
    """The choices of one GLM implementation. See the module docstring."""

    name: str
    input_dtype: str
    ar_estimator: str
    ar_binning: str
    ar_bins: int
    ar_fit: str
    whiten_scan0: str
    df: str
    hrf_formula: str
    z_method: str
    two_sided: bool
    fdr_formula: str
    cluster_connectivity: int
    threshold_keep_equal: bool

    def as_dict(self) -> dict:
        return asdict(self)

    def flipped(self, **changes) -> Convention:
        """A copy with some choices changed, named ``base+field=value``."""
        label = ",".join(f"{k}={v}" for k, v in changes.items())
        return replace(self, name=f"{self.name}+{label}", **changes)


CONVENTIONS: dict[str, Convention] = {
    # nistats 0.0.1b1/0.0.1rc0, as the tutorial ran it.
    "nistats": Convention(
        name="nistats",
        # nilearn image.concat_imgs(dtype=np.float32) as called by the tutorial
        input_dtype="float32",
        # nistats first_level_model.py run_glm: sum(r_t r_{t-1}) / sum(r_t^2)
        ar_estimator="lag1_ratio",
        # nistats run_glm: (ar1 * bins).astype(np.int) * 1. / bins, bins=100
        ar_binning="truncate",
        ar_bins=100,
        ar_fit="fixed",
        # nistats regression.py ARModel.whiten keeps scan 0 unscaled
        whiten_scan0="keep",
        # nistats regression.py OLSModel.initialize: df = n - matrix_rank(X)
        df="nobs_minus_rank",
        # nistats hemodynamic_models.py _gamma_difference_hrf
        hrf_formula="nistats",
        # nistats utils.py z_score: norm.isf(clip(p, 1e-300, 1 - 1e-16))
        z_method="isf_clipped",
        # nistats 0.0.1b1 thresholding.py map_threshold was one-sided: the tutorial
        # prints 3.090 = norm.isf(.001). (0.0.1rc0 added two_sided=True as default.)
        two_sided=False,
        # nistats thresholding.py fdr_threshold: alpha * linspace(.5/n, 1 - .5/n, n)
        fdr_formula="nistats",
        # scipy.ndimage.label default structure (faces): 6-connectivity
        cluster_connectivity=6,
        # nistats map_threshold keeps stat > threshold, strictly
        threshold_keep_equal=False,
    ),
}

DEFAULT_CONVENTION = "nistats"


def get_convention(convention) -> Convention:
    """Look a convention up by name (or pass a :class:`Convention` through)."""
    if isinstance(convention, Convention):
        return convention
    try:
        return CONVENTIONS[convention]
    except (KeyError, TypeError):
        raise InputError(
            f"convention: expected one of {', '.join(CONVENTIONS)}, found {convention!r}; "
            "pick a name from refglm.conventions.CONVENTIONS."
        ) from None


CHOICE_FIELDS = tuple(f.name for f in fields(Convention) if f.name != "name")
