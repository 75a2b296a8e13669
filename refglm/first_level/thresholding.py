"""Image-level thresholding and cluster tables: nibabel images in, numerics out.

``map_threshold`` and ``get_clusters_table`` take nibabel images (or paths),
as nistats' did, and hand arrays to the numerics of ``refglm.inference`` with the
choices of the named convention (:meth:`refglm.conventions.Convention.threshold_options`
and :meth:`~refglm.conventions.Convention.cluster_table_options`).
"""

from __future__ import annotations

import numbers
import os

import numpy as np
import pandas as pd

from refglm import inference, io
from refglm.conventions import get_convention
from refglm.exceptions import InputError

__all__ = ["map_threshold", "get_clusters_table"]

# nistats thresholding.py map_threshold's positional order, which this function keeps.
_NISTATS_ORDER = (
    "(stat_img, mask_img=None, alpha=0.001, threshold=None, height_control='fpr', "
    "cluster_threshold=0, ...)"
)


# Height controls that name a method (a string in mask_img is one of these by mistake).
_HEIGHT_CONTROL_NAMES = tuple(h for h in inference.HEIGHT_CONTROLS if h is not None)


def _is_image(value) -> bool:
    return isinstance(value, str | os.PathLike) or (
        hasattr(value, "get_fdata") and hasattr(value, "affine")
    )


def _check_image_argument(name: str, value, function: str, optional: bool = False) -> None:
    """Refuse a value that is neither a path nor a nibabel image, naming the argument."""
    if optional and value is None:
        return
    # Only mask_img receives nistats-order positional mistakes (alpha or height_control).
    misplaced = name == "mask_img" and (
        isinstance(value, numbers.Number)
        or (isinstance(value, str) and value in _HEIGHT_CONTROL_NAMES and not os.path.exists(value))
    )
    if _is_image(value) and not misplaced:
        return
    found = f"{type(value).__name__} {value!r}" if np.ndim(value) == 0 else type(value).__name__
    expected = "a path or a nibabel image" + (" (or None)" if optional else "")
    if misplaced:
        hint = (
            f"{function}'s positional order is nistats' {_NISTATS_ORDER}, so an alpha or a "
            f"height control passed second lands in {name}: pass the rest by keyword, "
            f"e.g. {function}(z_img, alpha=0.001, height_control='fpr')."
        )
    elif isinstance(value, np.ndarray):
        hint = (
            "wrap an array with nibabel.Nifti1Image(array, affine), or call the array "
            "versions refglm.inference.map_threshold / refglm.inference.get_clusters_table."
        )
    else:
        hint = "pass a filename or nibabel.load(filename)."
    raise InputError(f"{name}: expected {expected}, found {found}; {hint}")


def map_threshold(
    stat_img,
    mask_img=None,
    alpha=0.001,
    threshold=None,
    height_control="fpr",
    cluster_threshold=0,
    two_sided=None,
    convention="nistats",
):
    r"""Threshold a z map at a corrected voxel level, then by cluster size.

    The image version of :func:`refglm.inference.threshold_map.map_threshold`. With the tested
    voxels :math:`\mathcal M` (``mask_img``, or the non-zero voxels of ``stat_img``
    when it is None), :math:`n = |\mathcal M|` and :math:`\Phi` the standard normal
    CDF:

    - one-sided (nistats' tutorial, the default): :math:`\alpha' = \alpha`,
      tested values :math:`s_v = z_v`; two-sided: :math:`\alpha' = \alpha/2`,
      :math:`s_v = |z_v|`;
    - ``'fpr'``: :math:`t = \Phi^{-1}(1 - \alpha')` (``norm.isf``; 3.090 at
      :math:`\alpha = .001`, two-sided 3.291);
    - ``'bonferroni'``: :math:`t = \Phi^{-1}(1 - \alpha'/n)`, n the non-zero voxels of
      the map without a mask (62073 on the tutorial: 4.797 at .05);
    - ``'fdr'`` (nistats): sort :math:`s_{(1)} \ge \dots \ge s_{(n)}`,
      :math:`p_{(i)} = 1 - \Phi(s_{(i)})`; the discoveries are the i with

      .. math:: p_{(i)} < \alpha' \, \frac{i - 1/2}{n}
                \quad (\alpha' \cdot \texttt{linspace(.5/n, 1 - .5/n, n)}),

      and :math:`t = s_{(k)} - 10^{-12}` for the last discovery k, :math:`+\infty`
      with none (2.760 at .05 on the tutorial); the ``nilearn`` convention uses
      :math:`i/n` (Benjamini-Hochberg);
    - None: :math:`t` = ``threshold`` (3.0 when None).

    A voxel survives when :math:`s_v > t` (:math:`\ge` under the ``nilearn``
    convention) and keeps its signed value; the rest are 0. Then, with the
    6-connected (face) clusters of :math:`\{|z| > t\}` among the survivors, a cluster
    is kept when it has at least ``cluster_threshold`` voxels:

    .. math:: \text{keep } K \iff |K| \ge \texttt{cluster\_threshold}

    # nistats thresholding.py map_threshold: alpha_ = alpha / 2 if two_sided;
    # norm.isf(alpha_); fdr_threshold(stats, alpha_); norm.isf(alpha_ / n_voxels);
    # stats *= (stats > threshold); label(np.abs(stat_map) > threshold), removing
    # clusters with np.sum(labels == label_) < cluster_threshold
    # nistats thresholding.py fdr_threshold: p_vals < alpha * np.linspace(.5 / n,
    # 1 - .5 / n, n); z_vals_[pos][-1] - 1.e-12

    Parameters
    ----------
    stat_img : path or nibabel image
        A z map.
    mask_img : path, nibabel image or None
        Voxels to test; None tests the non-zero voxels of ``stat_img``
        (so Bonferroni's n is their count, 62073 on the tutorial).
    alpha : float in (0, 1)
    threshold : float or None
        Used when ``height_control`` is None.
    height_control : {'fpr', 'bonferroni', 'fdr', None}
    cluster_threshold : int >= 0
        Clusters smaller than this many voxels are removed.
    two_sided : bool or None
        None takes the convention's default (one-sided for nistats).
    convention : str

    The positional order is nistats' (``stat_img, mask_img, alpha, threshold,
    height_control``): pass everything after ``stat_img`` by keyword.

    Returns
    -------
    thresholded_img : nibabel.Nifti1Image
    threshold : float
        :math:`t` (``inf`` when FDR discovers nothing).

    Raises
    ------
    InputError
        Naming the argument: e.g. a number in ``mask_img`` (``map_threshold(z,
        0.001, 'fpr')``), a string in ``threshold``, an ``alpha`` outside (0, 1).
    """
    _check_image_argument("stat_img", stat_img, "map_threshold")
    _check_image_argument("mask_img", mask_img, "map_threshold", optional=True)
    if threshold is not None and (
        isinstance(threshold, bool) or not isinstance(threshold, numbers.Real)
    ):
        raise InputError(
            f"threshold: expected a z value or None, found {type(threshold).__name__} "
            f"{threshold!r}; map_threshold's positional order is nistats' {_NISTATS_ORDER}: "
            "pass the rest by keyword, e.g. map_threshold(z_img, alpha=0.05, "
            "height_control='fdr')."
        )
    conv = get_convention(convention)
    stat, affine = io.image_data(stat_img)
    mask = None
    if mask_img is not None:
        mask, _ = io.image_data(mask_img)
        mask = mask > 0
    out, thr = inference.map_threshold(
        stat,
        mask,
        alpha=alpha,
        height_control=height_control,
        threshold=threshold,
        cluster_threshold=cluster_threshold,
        **conv.threshold_options(two_sided),
    )
    return io.to_image(out, affine), float(thr)


def get_clusters_table(
    stat_img,
    stat_threshold,
    cluster_threshold=None,
    min_distance=8.0,
    two_sided=None,
    convention="nistats",
) -> pd.DataFrame:
    r"""Clusters of a map above a threshold, with their peaks and subpeaks.

    The image version of :func:`refglm.inference.cluster_table.get_clusters_table`.

    1. Clusters: the 6-connected (face) components of
       :math:`\{v : z_v > \texttt{stat\_threshold}\}` (strict) with at least
       ``cluster_threshold`` voxels, numbered 1, 2, ... by decreasing maximum;
       size :math:`\lfloor |K| \cdot \text{voxel volume} \rfloor` mm³.
    2. Candidate maxima, searched in each cluster's map (zero outside it): a voxel v
       with :math:`z_v = \max_{N(v)} z` and :math:`\max_{N(v)} z - \min_{N(v)} z > 0`,
       :math:`N(v)` its 3x3x3 neighbourhood (edges mirrored). Face-connected
       candidates form one plateau, reported at its value-weighted centre of mass
       rounded to a voxel (halves to even), with the value found at that voxel.
    3. Paring: the candidates sorted by decreasing value, :math:`m_1, m_2, \dots`
       at world positions :math:`x_j`, :math:`m_1` is kept and then

       .. math:: \text{keep } m_j \iff \lVert x_j - x_{\ell(j)} \rVert_2 >
                 \texttt{min\_distance}, \qquad
                 \ell(j) = \max\{i < j : m_i \text{ kept}\},

       the distance to the *last kept* candidate only. A kept peak can therefore lie
       within ``min_distance`` of an earlier kept one that is not the last: in the
       tutorial's table 1 and 1b are 6.71 mm apart (1a, kept between them, is
       13.75 mm from 1 and 8.49 mm from 1b), 6/6b and 8/8c 7.35 mm, 11/11b 6.0 mm.
    4. Rows: the first kept candidate is row ``k`` (with the cluster size), the next
       at most three are ``ka``, ``kb``, ``kc`` (empty size).

    # nistats reporting/_get_clusters_table.py get_clusters_table: binarized =
    # stat_map > stat_threshold; label(binarized, 6-connectivity); _local_max
    # (_identify_subpeaks, _sort_subpeaks, _pare_subpeaks); n_subpeaks =
    # min(len(subpeak_vals), 4). _pare_subpeaks' double loop (for i: if keep[i]:
    # for j > i: keep[j] = dist(i, j) > min_distance) overwrites keep[j] for every
    # kept i < j, so the last kept i decides: rule 3 (refglm.inference.peaks._pare_subpeaks).

    Parameters
    ----------
    stat_img : path or nibabel image
        The map (z scale). Never modified.
    stat_threshold : float >= 0
        Cluster-forming threshold.
    cluster_threshold : int or None
        Minimum cluster size in voxels; None keeps every cluster.
    min_distance : float, default 8.0
        Paring distance in mm (rule 3).
    two_sided : bool or None
        None takes the convention's default (positive clusters only for nistats).
    convention : str
        ``'nilearn'`` switches to nilearn 0.14.1's table rules
        (:mod:`refglm.inference._nilearn_table`).

    Returns
    -------
    pandas.DataFrame
        Columns ``Cluster ID, X, Y, Z, Peak Stat, Cluster Size (mm3)``.
    """
    _check_image_argument("stat_img", stat_img, "get_clusters_table")
    conv = get_convention(convention)
    stat, affine = io.image_data(stat_img)
    return inference.get_clusters_table(
        stat,
        affine,
        stat_threshold,
        cluster_threshold=cluster_threshold,
        min_distance=min_distance,
        **conv.cluster_table_options(two_sided),
    )
