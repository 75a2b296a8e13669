"""The shared tail of ``write_tutorial`` and ``write_fit``: figures and ``report.html``."""

from __future__ import annotations

from pathlib import Path

from refglm.report import write_products

__all__ = ["write_figures_and_report"]


def write_figures_and_report(
    results, summaries, out_dir, written, *, figures: bool, report: bool, **products
) -> list[Path]:
    """Figures and ``report.html`` of a fit, through :func:`refglm.report.write_products`.

    ``results`` gives the model, mean image and parameters, ``written`` the files
    ``write_glm_outputs`` wrote (listed in the report); ``products`` are the
    remaining keywords of ``write_products`` (title, regressors,
    regressors_title, checks). Returns the files written.
    """
    return write_products(
        out_dir,
        model=results.model,
        mean_img=results.mean_img,
        summaries=summaries,
        parameters=results.parameters,
        figures=figures,
        report=report,
        outputs=[p.name for p in written],
        **products,
    )
