"""Shared plumbing of ``refglm.plotting``: pyplot on Agg, PNG bytes without timestamps.

matplotlib is imported inside :func:`_pyplot` only, so that importing this
module (and ``refglm``) does not load it.
"""

from __future__ import annotations

import io as _io
from pathlib import Path

__all__ = ["DISPLAY_CONVENTION"]

#: How slices are drawn: the subject's left on the viewer's left.
DISPLAY_CONVENTION = "neurological"

_DPI = 100
_FG_DARK = "white"


def _pyplot():
    """matplotlib's pyplot on the non-interactive Agg backend."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _finish(fig, path=None) -> bytes:
    """Render ``fig`` to PNG bytes (no timestamp metadata), write them to ``path``, close it."""
    plt = _pyplot()
    buf = _io.BytesIO()
    fig.savefig(
        buf,
        format="png",
        dpi=_DPI,
        facecolor=fig.get_facecolor(),
        metadata={"Software": None},
    )
    plt.close(fig)
    png = buf.getvalue()
    if path is not None:
        from refglm.io import atomic_write_bytes

        Path(path).parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, png)
    return png
