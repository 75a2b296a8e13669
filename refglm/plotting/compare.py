"""Figures of ``refglm compare``: a Bland-Altman plot and axial slices of Δ.

matplotlib is imported inside the functions (through :mod:`refglm.plotting._figure`),
so that importing this module does not load it. Each function returns PNG bytes
(no timestamp) of a figure drawn outside pyplot.
"""

from __future__ import annotations

import numpy as np

from refglm.plotting._figure import figure_png, new_figure

__all__ = ["bland_altman_png", "delta_slices_png"]


def bland_altman_png(a: np.ndarray, b: np.ndarray, union: np.ndarray, title: str = "") -> bytes:
    r"""Bland-Altman plot: :math:`(A+B)/2` against :math:`B-A` on ``union``,
    with the mean difference and :math:`\pm 1.96` standard deviations.

    ``a``, ``b``: the two maps, finite (``refglm.compare`` sets their non-finite
    voxels to 0); ``union``: the union of their supports (a boolean map).
    """
    va, vb = a[union], b[union]
    mean, diff = (va + vb) / 2, vb - va
    fig = new_figure((6, 4))
    ax = fig.add_subplot()
    ax.scatter(mean, diff, s=2, alpha=0.3, color="#1f77b4", rasterized=True, linewidths=0)
    if diff.size:
        mu, sd = float(diff.mean()), float(diff.std())
        for y, style in ((mu, "-"), (mu + 1.96 * sd, "--"), (mu - 1.96 * sd, "--")):
            ax.axhline(y, color="#d62728", linestyle=style, linewidth=1)
    ax.set_xlabel("(reference + candidate) / 2")
    ax.set_ylabel("candidate − reference")
    ax.set_title(title or "Bland–Altman")
    fig.tight_layout()
    return figure_png(fig)


def delta_slices_png(
    a: np.ndarray, b: np.ndarray, union: np.ndarray, affine, title: str = ""
) -> bytes:
    """Three axial slices (voxel axis 2) of Δ = B − A: through the largest |Δ| and at
    1/3 and 2/3 of the support's extent; the support ``union`` in grey.

    ``a``, ``b`` and ``union`` as :func:`bland_altman_png`'s.
    """
    delta = np.where(union, b - a, 0.0)
    ks = np.nonzero(union.any(axis=(0, 1)))[0]
    if ks.size == 0:
        ks = np.array([a.shape[2] // 2])
    k_max = int(np.unravel_index(np.abs(delta).argmax(), delta.shape)[2])
    cuts = sorted({int(ks[len(ks) // 3]), k_max, int(ks[(2 * len(ks)) // 3])})
    vmax = float(np.abs(delta).max()) or 1.0
    fig = new_figure((4 * len(cuts), 4))
    axes = fig.subplots(1, len(cuts), squeeze=False)
    image = None
    for ax, k in zip(axes[0], cuts, strict=True):
        ax.imshow(union[:, :, k].T, origin="lower", cmap="Greys", vmin=0, vmax=4)
        shown = np.ma.masked_where(~union[:, :, k], delta[:, :, k])
        image = ax.imshow(shown.T, origin="lower", cmap="RdBu_r", vmin=-vmax, vmax=vmax)
        z_mm = float((np.asarray(affine) @ [0, 0, k, 1])[2])
        ax.set_title(f"k = {k} (z = {z_mm:.0f} mm)")
        ax.set_axis_off()
    fig.colorbar(image, ax=list(axes[0]), shrink=0.8, label="Δ = candidate − reference")
    fig.suptitle(title or "Δ")
    return figure_png(fig)
