"""course_lib.widgets and plots: the panel redraws on a change, leaves a static figure,
and PNGs repeat.
"""

import pytest

from course_lib import plots, widgets


def make_panel():
    def update(height):
        fig, ax = plots.figure(width=3, height=2)
        plots.bars(ax, [height, 1.0], ["a", "b"], ylabel="value", highlight=0)
        return fig, f"<b>height = {height:.2f}</b>"

    return widgets.LivePanel(
        {"height": widgets.slider("height", 0.5, 0.0, 2.0, 0.1)}, update
    )


def test_panel_renders_and_redraws_on_change():
    panel = make_panel()
    png_before, readout_before = panel.render()
    assert png_before.startswith(b"\x89PNG") and "0.50" in readout_before
    panel.controls["height"].value = 1.5  # fires observe -> _on_change -> render
    png_after, readout_after = panel.render()
    assert png_after != png_before and "1.50" in readout_after
    assert len(panel.timings) == 3


def test_show_outside_a_kernel_prints_the_static_fallback(capsys):
    make_panel().show()
    printed = capsys.readouterr().out
    assert widgets.STATIC_NOTE in printed  # the text a reader without a kernel sees


def test_same_figure_same_png_bytes():
    def draw():
        fig, ax = plots.figure()
        plots.bars(
            ax,
            [5.0, 2.2, -1.1, 0.3],
            ["Cockatoo", "Parrot", "Pigeon", "Magpie"],
            ylabel="logit",
        )
        return plots.to_png(fig)

    assert draw() == draw()


def test_update_bars_moves_heights_and_labels():
    fig, ax = plots.figure()
    drawn = plots.bars(ax, [1.0, 2.0], ["a", "b"], ylabel="p")
    plots.update_bars(drawn, [0.25, -0.5])
    assert [b.get_height() for b in drawn] == [0.25, -0.5]
    assert [t.get_text() for t in ax.texts] == ["0.25", "-0.50"]


def test_course_figure_repr_has_no_address():
    fig, _ = plots.figure(title="Bird logits")
    assert repr(fig) == "<CourseFigure 'Bird logits'>"
    assert fig._repr_png_().startswith(b"\x89PNG")


def test_bad_inputs():
    with pytest.raises(ValueError, match="controls"):
        widgets.LivePanel({}, lambda: None)
    fig, ax = plots.figure()
    with pytest.raises(ValueError, match="names"):
        plots.bars(ax, [1.0], ["a", "b"], ylabel="p")


def test_show_displays_the_controls_then_the_figure_and_updates_in_place(monkeypatch):
    """Runs twice in `make test`: on the pinned ipywidgets 8 and on Colab's 7.7.1."""
    shown, updates = [], []

    class Handle:
        def update(self, obj):
            updates.append(obj)

    def display(obj, **kwargs):
        shown.append(obj)
        return Handle()

    monkeypatch.setattr(widgets, "display", display)
    panel = make_panel()
    panel.show()
    view = shown[0][widgets.WIDGET_VIEW]
    assert view["model_id"] == panel.box.model_id and view["version_major"] == 2
    assert list(panel.box.children) == list(panel.controls.values())
    assert shown[0]["text/plain"] == widgets.STATIC_NOTE
    assert shown[1].data.startswith(b"\x89PNG") and "0.50" in shown[2].data
    panel.controls["height"].value = 1.5
    assert len(updates) == 2 and "1.50" in updates[1].data


def test_choice_slider_offers_only_precomputed_values():
    control = widgets.choice_slider("T", [1, 2, 4, 8], 4)
    assert control.value == 4 and list(control.options) == [1, 2, 4, 8]


def test_dropdown():
    control = widgets.dropdown("strategy", ["uniform", "mined"], "mined")
    assert control.value == "mined" and list(control.options) == ["uniform", "mined"]


def test_more_plots():
    fig, (a, b) = plots.figure(ncols=2)
    plots.heatmap(
        a,
        [[1.0, 0.1], [0.2, 0.9]],
        ["a", "b"],
        ["a", "b"],
        xlabel="k",
        ylabel="c",
        vmax=0.5,
    )
    assert len(fig.axes) == 3 and fig.axes[2].get_ylabel() == ""  # its colour bar
    plots.seed_points(b, {"x": [0.5, 0.6], "y": [0.7, 0.8]}, ylabel="%")
    assert len(b.patches) == 2  # a bar at each mean
    _, c = plots.figure()
    plots.seed_points(c, {"x": [0.5, 0.6], "y": [0.7, 0.8]}, ylabel="%", bars=False)
    assert len(c.patches) == 0 and len(c.collections) == 4  # dots and mean lines
    drawn = plots.bars(a, [0.1, 0.2], ["a", "b"], ylabel="p", fmt=None)
    plots.update_bars(drawn, [0.3, 0.4], fmt=None)
    assert [bar.get_height() for bar in drawn] == [0.3, 0.4]
    assert plots.to_png(fig).startswith(b"\x89PNG")
