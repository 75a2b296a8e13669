"""Every sentence that states a rule: one function per rule, used wherever the rule is told.

The figure titles, the report's tables and captions and the methods paragraph
all state the same few rules; each is worded here once, from the parameters
of the run, so that no copy can drift from what the code did:

- the cluster-size filter (:func:`cluster_rule_text`): nistats' and nilearn's
  ``cluster_threshold`` removes clusters of *fewer* than that many voxels, so a
  cluster of exactly that many is kept;
- the peaks of a cluster table (:func:`peak_rule_text`): a peak and at most three
  subpeaks, each more than ``min_distance`` mm from the last one kept;
- the title of a thresholded map (:func:`map_title`), and of one that shows the
  positive side only (:func:`one_sided_title`);
- what an empty map shows (:func:`empty_map_text`);
- the size cell of a cluster table's subpeak row (:data:`SUBPEAK_SIZE_NOTE`).
"""

from __future__ import annotations

__all__ = [
    "cluster_rule_text",
    "tutorial_title_note",
    "peak_rule_text",
    "map_title",
    "one_sided_title",
    "SUBPEAK_SIZE_NOTE",
]

#: Why a subpeak row of a cluster table has no size (nistats leaves the cell empty).
SUBPEAK_SIZE_NOTE = (
    "Subpeak rows (IDs such as 1a, 1b) have no cluster size: the size belongs to the "
    "cluster's peak row, and nistats leaves the subpeaks' cell empty."
)

_CLUSTER_RULE_FORMS = {
    "kept": "clusters of at least {n:g} voxels",
    "removed": "clusters of fewer than {n:g} voxels",
    "short": "clusters \u2265 {n:g} voxels",
    "cell": "at least {n:g} voxels",
}


def cluster_rule_text(cluster_threshold, form: str = "kept") -> str:
    """What a cluster-size filter of ``cluster_threshold`` keeps (or removes), in words.

    The filter (``refglm.inference.map_threshold``, as nistats' and nilearn's)
    removes clusters of *fewer* than ``cluster_threshold`` voxels, so a
    cluster of exactly that many voxels is kept:

    .. math:: \\text{keep } K \\iff |K| \\ge \\texttt{cluster\\_threshold}

    # nistats thresholding.py map_threshold: np.sum(labels == label_) < cluster_threshold
    # removes the cluster

    Parameters
    ----------
    cluster_threshold : float or None
        A threshold of 1 or less removes nothing: the text is ``''``.
    form : {'kept', 'removed', 'short', 'cell'}
        ``'kept'``: ``'clusters of at least 10 voxels'``; ``'removed'``:
        ``'clusters of fewer than 10 voxels'``; ``'short'`` (titles):
        ``'clusters ≥ 10 voxels'``; ``'cell'`` (a table cell): ``'at least 10 voxels'``.

    Returns
    -------
    str
    """
    if cluster_threshold is None or cluster_threshold <= 1:
        return ""
    return _CLUSTER_RULE_FORMS[form].format(n=cluster_threshold)


def tutorial_title_note(cluster_threshold) -> str:
    """The caption that reconciles the tutorial's titles ("clusters > 10 voxels") with the rule.

    ``''`` when the map went through no cluster-size filter.
    """
    if not cluster_rule_text(cluster_threshold):
        return ""
    return (
        f"The title is the tutorial's; its filter (cluster_threshold={cluster_threshold:g}) "
        f"removes {cluster_rule_text(cluster_threshold, 'removed')}, so "
        f"{cluster_rule_text(cluster_threshold)} are kept."
    )


def peak_rule_text(min_distance) -> str:
    """Which peaks a cluster table lists, in words: ``'... subpeaks more than 8 mm apart'``.

    # nistats reporting/_get_clusters_table.py: n_subpeaks = min(len(subpeak_vals), 4);
    # _pare_subpeaks keeps a candidate more than min_distance from the last kept one

    Parameters
    ----------
    min_distance : float
        The paring distance in mm (``get_clusters_table(min_distance=...)``).

    Returns
    -------
    str
    """
    return f"each cluster's peak and up to three subpeaks more than {min_distance:g} mm apart"


def map_title(name, height_control, alpha, threshold, cluster_threshold) -> str:
    """The title of ``refglm fit``'s thresholded map of contrast ``name``.

    ``'activeMinusRest (fdr=0.05, clusters ≥ 10 voxels)'``: the height
    control (or ``z > threshold`` without one) and the cluster-size filter
    (:func:`cluster_rule_text`); a filter of 1 voxel or less removes nothing
    and is not mentioned.

    Parameters
    ----------
    name : str
    height_control : {'fpr', 'bonferroni', 'fdr', None}
    alpha : float
    threshold : float or None
        The z threshold used when ``height_control`` is None.
    cluster_threshold : float

    Returns
    -------
    str
    """
    control = f"z > {threshold:g}" if height_control is None else f"{height_control}={alpha:g}"
    rule = cluster_rule_text(cluster_threshold, "short")
    if rule:
        control += f", {rule}"
    return f"{name} ({control})"


def one_sided_title(title: str, threshold: float, label: str = "z") -> str:
    """``title`` of a map that shows its positive side only, saying so.

    ``map_threshold`` keeps the positive side only under a one-sided
    convention (nistats'), so a figure of its map shows no negative value on
    purpose: ``'Active minus Rest (fdr=0.05); positive side only, z > 2.760'``.

    Parameters
    ----------
    title : str
    threshold : float
    label : str

    Returns
    -------
    str
    """
    return f"{title}; positive side only, {label} > {threshold:.3f}"
