"""nistats 0.0.1b1's ``thresholding``: ``map_threshold`` (one-sided) and ``fdr_threshold``."""

from __future__ import annotations

from refglm import inference
from refglm.exceptions import InputError
from refglm.first_level import thresholding

__all__ = ["map_threshold", "fdr_threshold"]


def map_threshold(
    stat_img=None,
    mask_img=None,
    alpha=0.001,
    threshold=3.0,
    height_control="fpr",
    cluster_threshold=0,
):
    r"""Threshold a z map, then remove small clusters: nistats 0.0.1b1's ``map_threshold``.

    One-sided (nistats 0.0.1b1 has no ``two_sided``): ``'fpr'`` :math:`t =
    \Phi^{-1}(1 - \alpha)` (3.090 at 0.001), ``'bonferroni'`` :math:`\Phi^{-1}(1 -
    \alpha/n)`, ``'fdr'`` nistats' :math:`p_{(i)} < \alpha (i - 1/2)/n`, None
    ``threshold``; voxels with :math:`z > t` kept, then 6-connected clusters of at least
    ``cluster_threshold`` voxels (``refglm.first_level.map_threshold`` under
    convention 'nistats', which the tutorial's golden values check).
    # nistats 0.0.1b1 thresholding.py map_threshold

    Returns
    -------
    thresholded_img : nibabel.Nifti1Image or None
        None when ``stat_img`` is None (``'fpr'`` or None height control).
    threshold : float
    """
    from scipy.stats import norm

    if height_control not in ("fpr", "fdr", "bonferroni", None):
        raise InputError(
            "height_control: expected one of 'fpr', 'fdr', 'bonferroni', None, found "
            f"{height_control!r}."
        )
    if stat_img is None:
        if height_control == "fpr":
            return None, float(norm.isf(alpha))
        if height_control is None:
            return None, float(threshold)
        raise InputError(
            f"stat_img: expected a z map for height_control={height_control!r} (nistats: "
            "'Map_threshold requires stat_img not to be None'), found None."
        )
    return thresholding.map_threshold(
        stat_img,
        mask_img,
        alpha=alpha,
        threshold=threshold,
        height_control=height_control,
        cluster_threshold=cluster_threshold,
        two_sided=False,
        convention="nistats",
    )


def fdr_threshold(z_vals, alpha):
    r"""nistats' FDR z threshold: :math:`p_{(i)} < \alpha\,(i - 1/2)/n` (``refglm.inference``).

    # nistats 0.0.1b1 thresholding.py fdr_threshold: alpha * np.linspace(.5 / n, 1 - .5 / n, n)
    """
    return inference.fdr_threshold(z_vals, alpha, formula="nistats")
