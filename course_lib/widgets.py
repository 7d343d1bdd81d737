"""A widget base that works on ipywidgets 8 (JupyterLab 4) and 7.7 (Colab) and leaves a
static figure.

``LivePanel`` shows controls, then a figure and a text readout as ordinary display
outputs with a display id. Moving a control calls ``update(**values)``, which redraws
and replaces those outputs in place. Nothing is drawn inside an ``ipywidgets.Output``,
so:

- a reader without a kernel (GitHub, nbviewer) sees the figure at the controls' starting
  values;
- the saved outputs are the same under nbval and papermill as in the notebook;
- the same code runs on ipywidgets 7 and 8 (only sliders, dropdowns and ``observe`` are
  used).

"""

from __future__ import annotations

import time
from collections.abc import Callable

import ipywidgets as W
from IPython.display import HTML, Image, display
from matplotlib.figure import Figure

from .plots import to_png

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def _look() -> dict:
    """Every control's look: a label that is never cut off, one width on a projector."""
    return {"style": {"description_width": "110px"}, "layout": W.Layout(width="480px")}


STATIC_NOTE = (
    "Interactive controls: run the notebook to move them. "
    "The figure below shows their starting values."
)


def slider(
    description: str,
    value: float,
    min: float,
    max: float,
    step: float,
    readout_format: str = ".2f",
):
    """A float slider whose label is never cut off and which updates only when released
    (fewer redraws).
    """
    return W.FloatSlider(
        value=value,
        min=min,
        max=max,
        step=step,
        description=description,
        readout_format=readout_format,
        continuous_update=False,
        **_look(),
    )


class LivePanel:
    """Controls + a figure + a readout, redrawn by ``update(**values) -> (Figure,
    html_text)`` on every change.

    ``update`` must be cheap (precompute anything heavy): it runs on every slider
    release. The time of each call is kept in ``timings`` (seconds) so a benchmark can
    report the callback's median time.
    """

    def __init__(
        self,
        controls: dict[str, W.ValueWidget],
        update: Callable[..., tuple[Figure, str]],
    ):
        if not controls:
            raise ValueError("controls must name at least one widget")
        self.controls, self.update = dict(controls), update
        self.timings: list[float] = []
        self._figure_handle = self._readout_handle = None
        for control in self.controls.values():
            control.observe(self._on_change, names="value")

    @property
    def values(self) -> dict:
        return {name: control.value for name, control in self.controls.items()}

    def render(self) -> tuple[bytes, str]:
        """Call ``update`` on the current values; return (PNG bytes, readout HTML) and
        record the time.
        """
        start = time.perf_counter()
        fig, readout = self.update(**self.values)
        png = to_png(fig)
        # keep the first layout: re-solving it on every redraw costs ~25 ms
        fig.set_layout_engine("none")
        self.timings.append(time.perf_counter() - start)
        return png, readout

    def _on_change(self, _change=None) -> None:
        png, readout = self.render()
        if self._figure_handle is not None:
            self._figure_handle.update(Image(data=png, format="png"))
            self._readout_handle.update(HTML(readout))

    def show(self) -> None:
        """Display the controls (with a text fallback for readers without a kernel), the
        figure and the readout.
        """
        self.box = W.VBox(list(self.controls.values()))
        display(
            {
                WIDGET_VIEW: {
                    "version_major": 2,
                    "version_minor": 0,
                    "model_id": self.box.model_id,
                },
                "text/plain": STATIC_NOTE,
            },
            raw=True,
        )
        png, readout = self.render()
        self._figure_handle = display(Image(data=png, format="png"), display_id=True)
        self._readout_handle = display(HTML(readout), display_id=True)


def choice_slider(description: str, options, value):
    """A slider over a few fixed values (e.g. temperatures 1, 2, 4, 8): only precomputed
    points can be chosen.
    """
    return W.SelectionSlider(
        options=list(options),
        value=value,
        description=description,
        continuous_update=False,
        **_look(),
    )


def dropdown(description: str, options, value):
    """A drop-down of a few named choices (e.g. sampling strategies)."""
    return W.Dropdown(
        options=list(options),
        value=value,
        description=description,
        **_look(),
    )
