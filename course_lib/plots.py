"""One plotting style for the whole course: bar charts of logits and probabilities like the slides.

Figures are plain ``matplotlib.figure.Figure`` objects (no pyplot state, so nothing leaks between
cells or widget callbacks) that Jupyter shows as a PNG when a cell returns one. PNGs are rendered
without timestamps or version stamps, so the same figure gives the same bytes.
"""
from __future__ import annotations

import io
from collections.abc import Sequence

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

PALETTE = ("#4285F4", "#EA4335", "#FBBC05", "#34A853", "#8E44AD", "#FF6D01", "#46BDC6", "#7F8C8D")
HIGHLIGHT, MUTED = "#1A73E8", "#B0B7C3"

STYLE = {
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.grid.axis": "y",
    "grid.alpha": 0.3,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "font.size": 10,
    "legend.frameon": False,
    "figure.dpi": 100,
}


class CourseFigure(Figure):
    """A Figure that Jupyter displays as a PNG and that prints without a memory address."""

    def _repr_png_(self) -> bytes:
        return to_png(self)

    def __repr__(self) -> str:
        title = self._suptitle.get_text() if self._suptitle is not None else ""
        return f"<CourseFigure {title!r}>" if title else "<CourseFigure>"


def figure(ncols: int = 1, nrows: int = 1, width: float = 6.0, height: float = 3.2, title: str | None = None):
    """A new course-styled figure and its axes (one Axes, or an array when ncols × nrows > 1)."""
    with matplotlib.rc_context(STYLE):
        fig = CourseFigure(figsize=(width, height), layout="constrained")
        FigureCanvasAgg(fig)
        axes = fig.subplots(nrows, ncols, squeeze=True)
    if title:
        fig.suptitle(title)
    return fig, axes


def to_png(fig: Figure, dpi: int = 100) -> bytes:
    """The figure as PNG bytes, free of metadata so identical figures give identical bytes."""
    buffer = io.BytesIO()
    with matplotlib.rc_context(STYLE):
        fig.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    return buffer.getvalue()


def bars(
    ax,
    values: Sequence[float],
    names: Sequence[str],
    *,
    ylabel: str,
    title: str | None = None,
    highlight: int | None = None,
    fmt: str = "{:.2f}",
    ylim: tuple[float, float] | None = None,
):
    """Bars of one value per class, as on the slides; ``highlight`` marks the true label. Returns the bars."""
    values = [float(v) for v in values]
    if len(values) != len(names):
        raise ValueError(f"values has {len(values)} entries but names has {len(names)}")
    colors = [HIGHLIGHT if highlight is None or i == highlight else MUTED for i in range(len(values))]
    drawn = ax.bar(range(len(values)), values, color=colors, edgecolor="white")
    ax.set_xticks(range(len(values)), names)
    ax.set_ylabel(ylabel)
    ax.axhline(0, color="black", linewidth=0.8)
    if title:
        ax.set_title(title)
    if ylim:
        ax.set_ylim(*ylim)
    for bar, value in zip(drawn, values):
        ax.annotate(fmt.format(value), (bar.get_x() + bar.get_width() / 2, value),
                    xytext=(0, 3 if value >= 0 else -12), textcoords="offset points", ha="center", fontsize=9)
    return drawn


def update_bars(drawn, values: Sequence[float], fmt: str = "{:.2f}") -> None:
    """Move existing bars (and their value labels) to new heights: cheap enough for a widget callback."""
    texts = [t for t in drawn[0].axes.texts]
    for bar, value, text in zip(drawn, values, texts):
        value = float(value)
        bar.set_height(value)
        text.xy = (bar.get_x() + bar.get_width() / 2, value)
        text.set_text(fmt.format(value))
        text.set_position((0, 3 if value >= 0 else -12))
