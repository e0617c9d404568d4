"""Self-contained HTML reports (no JavaScript, no network): inline SVG charts and tables.

The page is ``templates/report_page.html.j2``; charts are matplotlib figures saved as inline SVG
(``bar_figure``/``line_figure`` build them, ``svg_bar_chart``/``svg_line_chart`` return the markup).
Legends sit below the axes so they never cover the data, and values that are all non-negative are
drawn from 0 so a small gap is not magnified.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import jinja2
import numpy as np
import pandas as pd
from markupsafe import Markup

TEMPLATES = Path(__file__).parent / "templates"  # report_page.html.j2, brief.{html,md}.j2


def template_environment(autoescape: bool, filters: dict[str, Callable] | None = None) -> jinja2.Environment:
    """Jinja2 over ``ml/templates`` (autoescape for HTML), with extra ``filters``."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=autoescape,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters.update(filters or {})
    return env


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _svg(fig) -> str:
    """The figure as an inline ``<svg>`` element (matplotlib's XML prolog dropped); the figure is
    closed. ``bbox_inches="tight"`` keeps a legend placed below the axes inside the picture."""
    plt = _pyplot()
    try:
        fig.tight_layout()
        buffer = io.StringIO()
        fig.savefig(buffer, format="svg", bbox_inches="tight")
    finally:
        plt.close(fig)
    svg = buffer.getvalue()
    return svg[svg.index("<svg") :]


def _legend_below(ax, columns: int, fontsize: float) -> None:
    """The legend under the axes (outside them), so it never covers bars, lines or points."""
    ax.legend(
        loc="upper center",
        bbox_to_anchor=(0.5, -0.12),
        ncol=min(columns, 4),
        fontsize=fontsize,
        frameon=False,
    )


def _as_frame(data: pd.DataFrame | pd.Series) -> pd.DataFrame:
    return data.to_frame() if isinstance(data, pd.Series) else data


def bar_figure(
    data: pd.DataFrame | pd.Series,
    title: str,
    xlabel: str = "",
    reference: float | None = None,
    width: float = 7.5,
    xlim: tuple[float, float] | None = None,
):
    """The matplotlib figure of ``svg_bar_chart`` (the caller closes it)."""
    plt = _pyplot()
    frame = _as_frame(data)
    height = max(2.0, 0.35 * len(frame) * max(1, len(frame.columns)) + 1.0)
    fig, ax = plt.subplots(figsize=(width, min(height, 14)))
    frame.iloc[::-1].plot.barh(ax=ax, legend=False, width=0.8)
    if len(frame.columns) > 1:
        _legend_below(ax, len(frame.columns), 8)
    if reference is not None:
        ax.axvline(reference, color="crimson", linestyle="--", linewidth=1)
    if xlim is not None:
        ax.set_xlim(*xlim)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("")
    return fig


def svg_bar_chart(data: pd.DataFrame | pd.Series, title: str, *args, **options) -> str:
    """A horizontal bar chart as an inline ``<svg>`` (grouped bars when ``data`` has columns, the
    legend below the axes); the options are ``bar_figure``'s: ``xlabel``, ``reference`` (a dashed
    line), ``width`` in inches (the height follows the number of bars), ``xlim`` to fix the value
    axis (e.g. ``(0, 1)`` for rates)."""
    return _svg(bar_figure(data, title, *args, **options))


def line_figure(
    data: pd.DataFrame | pd.Series,
    title: str,
    ylabel: str = "",
    reference: float | None = None,
    ylim: tuple[float, float] | None = None,
    size: tuple[float, float] = (5.0, 2.4),
):
    """The matplotlib figure of ``svg_line_chart`` (the caller closes it)."""
    plt = _pyplot()
    frame = _as_frame(data)
    fig, ax = plt.subplots(figsize=size)
    positions = range(len(frame))
    for column in frame.columns:
        ax.plot(positions, frame[column].to_numpy(dtype=float), marker="o", markersize=3, label=column)
    if reference is not None:
        ax.axhline(reference, color="crimson", linestyle="--", linewidth=1)
    step = max(1, len(frame) // 6)
    ax.set_xticks(list(positions)[::step], [str(label) for label in frame.index][::step], fontsize=7)
    ax.tick_params(axis="y", labelsize=7)
    values = frame.to_numpy(dtype=float)
    if ylim is not None:
        ax.set_ylim(*ylim)
    elif np.isfinite(values).any() and np.nanmin(values) >= 0:
        ax.set_ylim(bottom=0)
    if len(frame.columns) > 1:
        _legend_below(ax, len(frame.columns), 7)
    ax.set_title(title, fontsize=9)
    ax.set_ylabel(ylabel, fontsize=8)
    return fig


def svg_line_chart(data: pd.DataFrame | pd.Series, title: str, *args, **options) -> str:
    """A small line chart (one line per column, points marked) as an inline ``<svg>``; the index
    labels the x axis (e.g. dates); the options are ``line_figure``'s: ``ylabel``, ``reference`` (a
    dashed threshold line), ``ylim`` to fix the y axis (else it starts at 0 for non-negative data),
    ``size`` in inches."""
    return _svg(line_figure(data, title, *args, **options))


def _is_count(column: pd.Series) -> bool:
    """Integer dtype, or floats that are all whole numbers and not just 0/1 (pandas and fairlearn
    hand counts back as floats: 886.0)."""
    if pd.api.types.is_bool_dtype(column) or not pd.api.types.is_numeric_dtype(column):
        return False
    if pd.api.types.is_integer_dtype(column):
        return True
    values = column.dropna().to_numpy(dtype=float)
    return bool(len(values)) and bool((values == np.round(values)).all()) and bool((np.abs(values) > 1).any())


def html_table(frame: pd.DataFrame, float_format: str = "{:.3f}", index: bool = True) -> str:
    """``frame`` as an HTML table: numbers with ``float_format``, counts (whole-number columns) as
    integers (``886``, not ``886.000``), missing values as an em dash."""
    formatters = {
        column: (lambda value: "—" if pd.isna(value) else str(int(value)))
        for position, column in enumerate(frame.columns)
        if _is_count(frame.iloc[:, position])
    }
    return frame.to_html(
        formatters=formatters,
        float_format=lambda value: float_format.format(value),
        border=0,
        classes="table",
        na_rep="—",
        index=index,
    )


def html_page(title: str, sections: list[tuple[str, str]]) -> str:
    """A standalone page: ``sections`` are (heading, HTML body) pairs; the heading is escaped, the
    body is inserted as it is (it is HTML)."""
    page = template_environment(True).get_template("report_page.html.j2")
    return page.render(title=title, sections=[(heading, Markup(body)) for heading, body in sections])
