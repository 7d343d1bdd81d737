"""One plotting style for the whole course: bar charts of logits and probabilities like
the slides.

Figures are plain ``matplotlib.figure.Figure`` objects (no pyplot state, so nothing
leaks between cells or widget callbacks) that Jupyter shows as a PNG when a cell returns
one. PNGs are rendered without timestamps or version stamps, so the same figure gives
the same bytes.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

PALETTE = (
    "#4285F4",
    "#EA4335",
    "#FBBC05",
    "#34A853",
    "#8E44AD",
    "#FF6D01",
    "#46BDC6",
    "#7F8C8D",
)
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
    """A Figure that Jupyter shows as a PNG and that prints without a memory address."""

    def _repr_png_(self) -> bytes:
        return to_png(self)

    def __repr__(self) -> str:
        title = self._suptitle.get_text() if self._suptitle is not None else ""
        return f"<CourseFigure {title!r}>" if title else "<CourseFigure>"


def figure(
    ncols: int = 1,
    nrows: int = 1,
    width: float = 6.0,
    height: float = 3.2,
    title: str | None = None,
):
    """A new course-styled figure and its axes (one Axes, or an array when ncols × nrows
    > 1).
    """
    with matplotlib.rc_context(STYLE):
        fig = CourseFigure(figsize=(width, height), layout="constrained")
        FigureCanvasAgg(fig)
        axes = fig.subplots(nrows, ncols, squeeze=True)
    if title:
        fig.suptitle(title)
    return fig, axes


def to_png(fig: Figure, dpi: int = 100) -> bytes:
    """The figure as PNG bytes, free of metadata so identical figures give identical
    bytes.
    """
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
    fmt: str | None = "{:.2f}",
    ylim: tuple[float, float] | None = None,
):
    """Bars of one value per class, as on the slides; ``highlight`` marks the true
    label; ``fmt=None`` leaves the values unwritten (many narrow bars). Returns bars.
    """
    values = [float(v) for v in values]
    if len(values) != len(names):
        raise ValueError(f"values has {len(values)} entries but names has {len(names)}")
    colors = [
        HIGHLIGHT if highlight is None or i == highlight else MUTED
        for i in range(len(values))
    ]
    drawn = ax.bar(range(len(values)), values, color=colors, edgecolor="white")
    ax.set_xticks(range(len(values)), names)
    ax.set_ylabel(ylabel)
    ax.axhline(0, color="black", linewidth=0.8)
    if title:
        ax.set_title(title)
    if ylim:
        ax.set_ylim(*ylim)
    for bar, value in zip(drawn, values if fmt else []):
        ax.annotate(
            fmt.format(value),
            (bar.get_x() + bar.get_width() / 2, value),
            xytext=(0, 3 if value >= 0 else -12),
            textcoords="offset points",
            ha="center",
            fontsize=9,
        )
    return drawn


def update_bars(drawn, values: Sequence[float], fmt: str | None = "{:.2f}") -> None:
    """Move existing bars (and their value labels, if any) to new heights: cheap enough
    for a widget callback.
    """
    values = [float(v) for v in values]
    for bar, value in zip(drawn, values):
        bar.set_height(value)
    if not fmt:
        return
    for bar, value, text in zip(drawn, values, drawn[0].axes.texts):
        text.xy = (bar.get_x() + bar.get_width() / 2, value)
        text.set_text(fmt.format(value))
        text.set_position((0, 3 if value >= 0 else -12))


def heatmap(
    ax,
    matrix,
    row_names: Sequence[str],
    col_names: Sequence[str],
    *,
    xlabel: str,
    ylabel: str,
    title: str | None = None,
    fmt: str = "{:.2f}",
    annotate: bool = True,
    vmin: float | None = None,
    vmax: float | None = None,
    colorbar: str = "",
):
    """A matrix as a heat map with its values written in (the slides' 4 × 4
    dark-knowledge matrix) and a colour bar labelled ``colorbar``.

    Colours span the matrix's own range unless ``vmin`` / ``vmax`` fix them (one scale
    for several maps, or a cap that shows small off-diagonal values).
    """
    values = [[float(v) for v in row] for row in matrix]
    image = ax.imshow(values, cmap="Blues", vmin=vmin, vmax=vmax)
    ax.figure.colorbar(image, ax=ax, label=colorbar, shrink=0.85)
    ax.set_xticks(range(len(col_names)), col_names)
    ax.set_yticks(range(len(row_names)), row_names)
    ax.set(xlabel=xlabel, ylabel=ylabel)
    ax.grid(False)
    if title:
        ax.set_title(title)
    if annotate:
        low, high = image.get_clim()
        for i, row in enumerate(values):
            for j, v in enumerate(row):
                ax.text(
                    j,
                    i,
                    fmt.format(v),
                    ha="center",
                    va="center",
                    fontsize=7,
                    color=_text_color(v, low, high),
                )
    return image


def _text_color(value: float, low: float, high: float) -> str:
    """White on the darkest 40 % of a heat map's colour range, black elsewhere."""
    return "white" if value > low + 0.6 * (high - low) else "black"


def seed_points(
    ax,
    groups: dict,
    *,
    ylabel: str,
    title: str | None = None,
    scale: float = 100.0,
    bars: bool = True,
):
    """One column per group: a dot per seed and the mean, so the spread over seeds is
    visible. The mean is a bar from zero, or with ``bars=False`` a short line, for
    differences too small to read on bars (the axis may then start above zero).
    """
    for i, (name, values) in enumerate(groups.items()):
        values = [scale * float(v) for v in values]
        mean = sum(values) / len(values)
        if bars:
            ax.bar(i, mean, color=PALETTE[i % len(PALETTE)], alpha=0.35, width=0.6)
        else:
            ax.hlines(mean, i - 0.3, i + 0.3, color=PALETTE[i % len(PALETTE)], lw=2.5)
        ax.scatter(
            [i] * len(values), values, color=PALETTE[i % len(PALETTE)], zorder=3, s=18
        )
        ax.annotate(
            f"{mean:.1f}",
            (i, mean),
            xytext=(0, 4),
            textcoords="offset points",
            ha="center",
            fontsize=9,
        )
    ax.set_xticks(range(len(groups)), list(groups))
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)


def digit(ax, image, title: str = "") -> None:
    """One 8 × 8 digit from its raw pixels (0 = white, 1 = black), without axes."""
    ax.imshow(image, cmap="gray_r", vmin=0, vmax=1)
    ax.set_axis_off()
    if title:
        ax.set_title(title, fontsize=10)


def update_heatmap(image, matrix, fmt: str = "{:.2f}", title: str | None = None):
    """Redraw a ``heatmap`` with new values (its colour scale kept), rewriting the
    numbers written in its cells: cheap enough for a widget callback.
    """
    values = [[float(v) for v in row] for row in matrix]
    image.set_data(values)
    low, high = image.get_clim()
    cells = [v for row in values for v in row]
    for text, v in zip(image.axes.texts, cells):
        text.set_text(fmt.format(v))
        text.set_color(_text_color(v, low, high))
    if title is not None:
        image.axes.set_title(title)


def outline(ax, cells, color: str = "black", linewidth: float = 2.0) -> None:
    """Draw a frame around each (row, column) cell of a heat map."""
    from matplotlib.patches import Rectangle

    for i, j in cells:
        frame = Rectangle(
            (j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor=color, linewidth=linewidth
        )
        ax.add_patch(frame)


def in_batch_scores(
    ax,
    scores,
    labels,
    names: Sequence[str],
    *,
    title: str | None = None,
    colorbar: str = "score ⟨q_i, e_y_j⟩",
):
    """The B × B in-batch score matrix: row i is query i scored against the positive
    label of every row j. The diagonal (framed) holds each row's own positive, the rest
    are its negatives; × marks an accidental hit, a column whose label is row i's own.

    Slide "Solution #1: within-batch negatives". ``names`` label the columns' labels.
    """
    labels = [int(y) for y in labels]
    if len(labels) != len(scores) or any(len(row) != len(labels) for row in scores):
        raise ValueError(
            f"scores must be B × B with B = len(labels) = {len(labels)} rows"
        )
    rows = [f"q{i + 1}" for i in range(len(labels))]
    image = heatmap(
        ax,
        scores,
        rows,
        names,
        xlabel="positive label of row j (its frequency rank)",
        ylabel="query i",
        annotate=False,
        colorbar=colorbar,
        title=title,
    )
    outline(ax, [(i, i) for i in range(len(labels))])
    ax.tick_params(axis="x", labelrotation=90)
    for i, a in enumerate(labels):
        for j, b in enumerate(labels):
            if i != j and a == b:
                ax.text(j, i, "×", ha="center", va="center", fontsize=12, color="red")
    return image


def churn_table(
    ax,
    table,
    *,
    names: tuple[str, str] = ("M1", "M2"),
    both_wrong_differ: float | None = None,
    title: str | None = None,
    vmax: float | None = None,
):
    """Two models' 2 × 2 table of shares (rows: model 1 right / wrong; columns: model
    2 right / wrong), in %. The one-right cells (framed red) are always churn; in the
    both-wrong cell the models disagree only where their wrong labels differ
    (``both_wrong_differ``, written in the cell). Slide "Churn versus accuracy".
    """
    shares = [[100 * float(v) for v in row] for row in table]
    if len(shares) != 2 or any(len(row) != 2 for row in shares):
        raise ValueError("table must be 2 × 2: rows model 1 right / wrong")
    first, second = names
    image = heatmap(
        ax,
        shares,
        [f"{first} right", f"{first} wrong"],
        [f"{second} right", f"{second} wrong"],
        xlabel=second,
        ylabel=first,
        fmt="{:.1f} %",
        vmin=0,
        vmax=vmax,
        colorbar="share of the test images (%)",
        title=title,
    )
    outline(ax, [(0, 1), (1, 0)], color=PALETTE[1], linewidth=3)
    for text in ax.texts:
        text.set_fontsize(12)
    if both_wrong_differ is not None:
        ax.texts[3].set_text(
            f"{shares[1][1]:.1f} %\n({100 * both_wrong_differ:.1f} % differ)"
        )
    return image


def teacher_to_student(
    image,
    teacher_probs: Sequence[float],
    student_probs: Sequence[float],
    names: Sequence[str],
    *,
    temperature: float,
    label: int | None = None,
    title: str | None = None,
):
    """Slide "Distillation in a nutshell" as a picture: an input image → the teacher's
    soft predictions softmax(t / T) on it (the student's targets) → the student's
    softmax(s / T) on the same image once trained on such targets. Returns the figure.
    """
    from matplotlib.patches import ConnectionPatch

    if len(teacher_probs) != len(names) or len(student_probs) != len(names):
        raise ValueError("teacher_probs and student_probs need one value per name")
    fig, (ax_x, ax_t, ax_s) = figure(ncols=3, width=11, height=3.2, title=title)
    fig.get_layout_engine().set(wspace=0.12)
    pixels = [[float(v) for v in row] for row in image]
    digit(ax_x, pixels, "input" + (f" (label {label})" if label is not None else ""))
    style = dict(highlight=label, fmt=None, ylim=(0, 1.05))
    bars(ax_t, teacher_probs, names, ylabel=f"softmax(· / {temperature:g})", **style)
    ax_t.set_title("teacher's soft predictions\n= the student's targets")
    bars(ax_s, student_probs, names, ylabel="", **style)  # the teacher's y label
    ax_s.set_title("student's predictions,\ntrained on such targets")
    steps = [
        (ax_x, ax_t, -0.3, "teacher, trained\non one-hot labels"),
        (ax_t, ax_s, -0.17, "student, trained\non the targets"),
    ]
    for left, right, end, text in steps:
        arrow = ConnectionPatch(
            (1.04, 0.5), (end, 0.5), left.transAxes, right.transAxes,
            arrowstyle="-|>", mutation_scale=18, lw=2, color=PALETTE[1],
        )  # fmt: skip
        fig.add_artist(arrow)
        left.annotate(
            text, (1.0, 0.62), xycoords="axes fraction", xytext=(8, 0),
            textcoords="offset points", ha="left", fontsize=9, color=PALETTE[1],
        )  # fmt: skip
    return fig


def reliability_diagram(ax, diagram, *, title: str | None = None):
    """A reliability diagram (Guo et al. 2017, fig. 1) from ``calibration.reliability``:
    per confidence bin, the accuracy as a bar and the gap up (or down) to the bin's mean
    confidence in red; a calibrated model's bars reach the diagonal. Returns the drawn
    bars for ``update_reliability``.
    """
    left, width = diagram.edges[:-1].tolist(), 1 / len(diagram.counts)
    accuracy, gap = _reliability_heights(diagram)
    style = dict(width=width, align="edge", edgecolor="white")
    right = ax.bar(left, accuracy, color=HIGHLIGHT, label="accuracy", **style)
    off = ax.bar(left, gap, bottom=accuracy, color=PALETTE[1], alpha=0.45, **style)
    off.set_label("gap to confidence")
    ax.plot([0, 1], [0, 1], "--", color="black", lw=1, label="calibrated")
    ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="confidence (max probability)")
    ax.set_ylabel("accuracy in the bin")
    ax.legend(loc="upper left", fontsize=9)
    if title:
        ax.set_title(title)
    return right, off


def update_reliability(drawn, diagram) -> None:
    """Move a reliability diagram's bars to another ``calibration.reliability``."""
    accuracy, gap = _reliability_heights(diagram)
    for a_bar, g_bar, a, g in zip(*drawn, accuracy, gap):
        a_bar.set_height(a)
        g_bar.set_y(a)
        g_bar.set_height(g)


def _reliability_heights(diagram) -> tuple[list[float], list[float]]:
    """Bar heights: accuracy, and confidence − accuracy (0 for an empty bin)."""
    accuracy = diagram.accuracy.nan_to_num(0.0)
    confidence = diagram.confidence.nan_to_num(0.0)
    return accuracy.tolist(), (confidence - accuracy).tolist()


def seed_curves(
    ax,
    xs: Sequence[float],
    groups: dict,
    *,
    xlabel: str,
    ylabel: str,
    title: str | None = None,
    scale: float = 100.0,
    log2: bool = True,
) -> list:
    """One curve per group through the mean over seeds at each x, with a dot per seed so
    the spread shows (``groups[name]`` is seeds × len(xs)); ``log2`` spaces x by
    doublings (sizes 2, 4, 8, …). Returns the mean lines.
    """
    lines = []
    for i, (name, values) in enumerate(groups.items()):
        rows = [[scale * float(v) for v in row] for row in values]
        if any(len(row) != len(xs) for row in rows):
            raise ValueError(f"groups[{name!r}] must have {len(xs)} values per seed")
        color = PALETTE[i % len(PALETTE)]
        means = [sum(col) / len(col) for col in zip(*rows)]
        for row in rows:
            ax.scatter(xs, row, color=color, s=12, alpha=0.5, zorder=3)
        lines += ax.plot(xs, means, "-o", color=color, markersize=4, label=name)
    if log2:
        ax.set_xscale("log", base=2)
        ax.set_xticks(list(xs), [f"{x:g}" for x in xs])
        ax.minorticks_off()
    ax.set(xlabel=xlabel, ylabel=ylabel)
    if title:
        ax.set_title(title)
    return lines


def class_scatter(ax, points, labels, *, title: str | None = None):
    """Points (N, 2) coloured by class (one colour per class, as in a legend of
    digits); returns the drawn collection for ``update_scatter``.
    """
    import numpy as np

    points, labels = np.asarray(points, dtype=float), np.asarray(labels)
    if points.ndim != 2 or points.shape[1] != 2 or len(points) == 0:
        raise ValueError(f"points must have shape (N, 2), got {points.shape}")
    if labels.shape != (len(points),):
        raise ValueError(
            f"labels has shape {labels.shape}: expected ({len(points)},), one class "
            "per point"
        )
    drawn = ax.scatter(
        points[:, 0], points[:, 1], c=labels, cmap="tab10", vmin=-0.5, vmax=9.5, s=8
    )
    ax.grid(False)
    if title:
        ax.set_title(title)
    return drawn


def update_scatter(ax, drawn, points, title: str | None = None) -> None:
    """Move a ``class_scatter``'s points to new positions (N, 2) and fit the axes to
    them: cheap enough for a widget callback.
    """
    import numpy as np

    points, shape = np.asarray(points, dtype=float), np.shape(drawn.get_offsets())
    if points.shape != shape or not np.isfinite(points).all():
        raise ValueError(
            f"points must be finite, of shape {shape} (one row per drawn point), got "
            f"shape {points.shape}"
        )
    drawn.set_offsets(points)
    low, high = points.min(0), points.max(0)
    pad = 0.05 * (high - low) + 1e-9
    ax.set(xlim=(low[0] - pad[0], high[0] + pad[0]))
    ax.set(ylim=(low[1] - pad[1], high[1] + pad[1]))
    if title is not None:
        ax.set_title(title)


def grouped_bars(
    ax,
    groups: dict,
    names: Sequence[str],
    *,
    ylabel: str,
    title: str | None = None,
):
    """Side-by-side bars: for each of ``names``, one bar per group (``groups`` maps a
    legend label to one value per name), coloured from the palette. Returns the bar
    containers, one per group."""
    width = 0.8 / max(len(groups), 1)
    drawn = []
    for i, (label, values) in enumerate(groups.items()):
        values = [float(v) for v in values]
        if len(values) != len(names):
            raise ValueError(
                f"groups[{label!r}] has {len(values)} values but names has {len(names)}"
            )
        xs = [k + (i - (len(groups) - 1) / 2) * width for k in range(len(names))]
        color = PALETTE[i % len(PALETTE)]
        drawn.append(ax.bar(xs, values, width, color=color, label=label))
    ax.set_xticks(range(len(names)), names)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=9)
    if title:
        ax.set_title(title)
    return drawn
