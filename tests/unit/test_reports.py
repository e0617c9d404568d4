import matplotlib.pyplot as plt
import pandas as pd

from ml.reports import bar_figure, html_page, html_table, line_figure


def test_legend_sits_outside_the_bars():
    frame = pd.DataFrame(
        {"selection_rate": [0.9, 0.8, 0.95], "recall": [0.7, 0.9, 0.85], "precision": [0.6, 0.65, 0.9]},
        index=["a", "b", "c"],
    )
    fig = bar_figure(frame, "rates", xlim=(0, 1))
    try:
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        ax = fig.axes[0]
        legend, axes = ax.get_legend().get_window_extent(renderer), ax.get_window_extent(renderer)
        assert legend.y1 <= axes.y0, f"the legend {legend} overlaps the axes {axes}: it covers the bars"
        assert ax.get_xlim() == (0, 1), f"rates are drawn on a 0..1 axis, not {ax.get_xlim()}"
    finally:
        plt.close(fig)


def test_line_chart_of_close_rates_starts_at_zero():
    fig = line_figure(pd.DataFrame({"precision": [0.81, 0.83], "accuracy": [0.80, 0.82]}), "quality")
    try:
        bottom, _ = fig.axes[0].get_ylim()
        assert bottom == 0, f"the y axis starts at {bottom}: a 0.02 gap would look large"
    finally:
        plt.close(fig)


def test_table_prints_counts_as_integers_and_rates_with_decimals():
    frame = pd.DataFrame({"count": [886.0, 1204.0], "recall": [0.5, 0.25], "judged": [3, 2]})
    table = html_table(frame)
    assert "886.000" not in table and "<td>886</td>" in table, f"counts must print as integers:\n{table}"
    assert "<td>3</td>" in table and "<td>0.500</td>" in table, (
        f"ints as ints, rates with 3 decimals:\n{table}"
    )


def test_page_escapes_the_headings_and_keeps_the_bodies():
    page = html_page("A <b> report", [("Heading & more", "<p>body</p>")])
    assert page.startswith("<!DOCTYPE html>"), "a standalone page"
    assert "<h1>A &lt;b&gt; report</h1>" in page and "<h2>Heading &amp; more</h2>" in page, page
    assert "<p>body</p>" in page, "the section body is HTML and must not be escaped"
