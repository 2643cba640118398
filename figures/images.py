"""Saving a figure's image: in which formats, where, and in which style's settings."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
from matplotlib.backend_bases import FigureCanvasBase

from .style import PAPER, use_style

__all__ = ["IMAGE_FORMATS", "image_formats", "save_image"]

#: The formats an image is saved in when a folder is given: PNG to look at, PDF to print.
IMAGE_FORMATS = ("png", "pdf")


def image_formats() -> set[str]:
    """File extensions matplotlib can save to (``png``, ``pdf``, ``svg``, ...)."""
    return set(FigureCanvasBase.get_supported_filetypes())


def save_image(
    fig: plt.Figure, out: Path, name: str, *, style: Mapping[str, Any] = PAPER
) -> list[Path]:
    """Save ``fig`` as ``<out>/<name>.png`` and ``.pdf`` and return the paths.

    ``out``: a folder (made if needed), or a file whose extension is an image format
    matplotlib writes (``.png``, ``.pdf``, ``.svg``, ...: that one file). An existing
    folder is a folder whatever its name. Saved inside ``style`` (its resolution and
    font embedding are saving settings).
    """
    out = Path(out)
    if not out.is_dir() and out.suffix.lstrip(".").lower() in image_formats():
        written = [out]
    else:
        written = [out / f"{name}.{ext}" for ext in IMAGE_FORMATS]
    written[0].parent.mkdir(parents=True, exist_ok=True)
    with use_style(style):
        for path in written:
            fig.savefig(path)
    return written
