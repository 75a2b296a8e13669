"""nilearn 0.14.1's reporting names: ``get_clusters_table``, ``make_glm_report``, ``HTMLReport``.

The report is refglm's own (``refglm.report.write_products``: one HTML file with its
figures embedded), built from the fitted model, its z maps thresholded by
``threshold_stats_img`` and their cluster tables; it is returned as an
:class:`HTMLReport`, which a notebook displays and ``save_as_html`` writes.
"""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

import numpy as np

from refglm import io
from refglm.exceptions import InputError
from refglm.first_level.summary import (
    ContrastSummary,
    ThresholdedMap,
    model_parameters,
    table_params,
)
from refglm.io.derivative_names import REPORT_HTML, camel_case_contrast_name
from refglm.nilearn.thresholding import get_clusters_table, threshold_stats_img

__all__ = ["HTMLReport", "build_report", "get_clusters_table", "make_glm_report"]


class HTMLReport:
    """An HTML report: ``_repr_html_`` for notebooks, ``save_as_html``, ``get_standalone``.

    # nilearn 0.14.1 reporting/html_report.py HTMLReport (the same three methods)
    """

    def __init__(self, html: str):
        self.html = html

    def get_standalone(self) -> str:
        """The whole HTML document."""
        return self.html

    def _repr_html_(self) -> str:
        return self.html

    def save_as_html(self, file_path) -> None:
        """Write the report to ``file_path``."""
        io.atomic_write_text(Path(file_path), self.html)

    def __str__(self) -> str:
        return self.html


def _contrast_dict(contrasts) -> dict:
    """nilearn's ``coerce_to_dict``: a dict as it is; a str or array, or a list of them."""
    if contrasts is None:
        raise InputError(
            "contrasts: expected a contrast (str, array, list or dict of them), found None."
        )
    if isinstance(contrasts, dict):
        return dict(contrasts)
    if isinstance(contrasts, str | np.ndarray):
        contrasts = [contrasts]
    return {(c if isinstance(c, str) else f"contrast_{i}"): c for i, c in enumerate(contrasts)}


def build_report(
    model,
    contrasts,
    title=None,
    threshold=None,
    alpha=0.001,
    cluster_threshold=0,
    height_control="fpr",
    two_sided=False,
    min_distance=8.0,
) -> HTMLReport:
    """The report of a fitted model, through ``refglm.report.write_products``.

    For each contrast: its z map (``model.compute_contrast``), thresholded by
    :func:`threshold_stats_img` (nilearn's report: ``height_control=None`` takes
    ``threshold``, 3.09 when None), and its cluster table at that threshold.
    """
    from refglm.report import write_products

    if height_control is None and threshold is None:
        threshold = 3.09  # nilearn 0.14.1 glm/_reporting_utils.py: the same default
    summaries = []
    definitions = {}
    for name, definition in _contrast_dict(contrasts).items():
        key = camel_case_contrast_name(name)
        definitions[key] = definition
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            z_map = model.compute_contrast(definition, output_type="z_score")
            img, thr = threshold_stats_img(
                z_map,
                alpha=alpha,
                threshold=threshold,
                height_control=height_control,
                cluster_threshold=cluster_threshold,
                two_sided=two_sided,
            )
        label = height_control or "threshold"
        table = get_clusters_table(
            z_map, thr, cluster_threshold, two_sided=two_sided, min_distance=min_distance
        )
        summaries.append(
            ContrastSummary(
                key,
                definition,
                "F" if np.ndim(definition) == 2 else "t",
                [
                    ThresholdedMap(
                        label, f"{name} ({label}, z > {thr:.3f})", thr, img, cluster_threshold
                    )
                ],
                table,
                table_params(
                    thr,
                    height_control,
                    alpha,
                    two_sided,
                    cluster_threshold=cluster_threshold,
                    min_distance=min_distance,
                ),
            )
        )
    parameters = model_parameters(model, definitions, cluster_threshold)
    mean_img = io.to_image(model.mean_img_data_, model.affine_)
    with tempfile.TemporaryDirectory() as folder:
        write_products(
            folder,
            model=model,
            mean_img=mean_img,
            summaries=summaries,
            parameters=parameters,
            title=title or "First-level model report",
            figures=False,
        )
        html = (Path(folder) / REPORT_HTML).read_text()
    return HTMLReport(html)


def make_glm_report(
    model,
    contrasts=None,
    first_level_contrast=None,
    title=None,
    bg_img="MNI152TEMPLATE",
    threshold=3.09,
    alpha=0.001,
    cluster_threshold=0,
    height_control="fpr",
    two_sided=False,
    min_distance=8.0,
    plot_type="slice",
    cut_coords=None,
    display_mode=None,
    report_dims=(800, 800),
):
    """nilearn 0.14.1's ``make_glm_report``: ``model.generate_report`` (with its FutureWarning)."""
    warnings.warn(
        "make_glm_report is deprecated: use model.generate_report instead.",
        FutureWarning,
        stacklevel=2,
    )
    return model.generate_report(
        contrasts=contrasts,
        title=title,
        threshold=threshold,
        alpha=alpha,
        cluster_threshold=cluster_threshold,
        height_control=height_control,
        two_sided=two_sided,
        min_distance=min_distance,
    )
