"""Self-contained HTML reports (no JavaScript, no network): inline SVG charts and tables."""

from __future__ import annotations

import html
import io

import pandas as pd


def _svg(fig) -> str:
    """The figure as an inline ``<svg>`` element (matplotlib's XML prolog dropped)."""
    fig.tight_layout()
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg")
    svg = buffer.getvalue()
    return svg[svg.index("<svg") :]


def svg_bar_chart(
    data: pd.DataFrame | pd.Series,
    title: str,
    xlabel: str = "",
    reference: float | None = None,
    width: float = 7.5,
) -> str:
    """A horizontal bar chart as an inline ``<svg>`` (grouped bars when ``data`` has columns);
    ``width`` in inches (the height follows the number of bars)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    frame = data.to_frame() if isinstance(data, pd.Series) else data
    height = max(2.0, 0.35 * len(frame) * max(1, len(frame.columns)) + 1.0)
    fig, ax = plt.subplots(figsize=(width, min(height, 14)))
    try:
        frame.iloc[::-1].plot.barh(ax=ax, legend=len(frame.columns) > 1, width=0.8)
        if reference is not None:
            ax.axvline(reference, color="crimson", linestyle="--", linewidth=1)
        ax.set_title(title)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("")
        return _svg(fig)
    finally:
        plt.close(fig)


def svg_line_chart(
    data: pd.DataFrame | pd.Series,
    title: str,
    ylabel: str = "",
    reference: float | None = None,
    ylim: tuple[float, float] | None = None,
    size: tuple[float, float] = (5.0, 2.4),
) -> str:
    """A small line chart (one line per column, points marked) as an inline ``<svg>``; the index
    labels the x axis (e.g. dates); ``reference`` draws a dashed threshold line; ``size`` in inches."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    frame = data.to_frame() if isinstance(data, pd.Series) else data
    fig, ax = plt.subplots(figsize=size)
    try:
        positions = range(len(frame))
        for column in frame.columns:
            ax.plot(positions, frame[column].to_numpy(dtype=float), marker="o", markersize=3, label=column)
        if reference is not None:
            ax.axhline(reference, color="crimson", linestyle="--", linewidth=1)
        step = max(1, len(frame) // 6)
        ax.set_xticks(list(positions)[::step], [str(label) for label in frame.index][::step], fontsize=7)
        ax.tick_params(axis="y", labelsize=7)
        if ylim is not None:
            ax.set_ylim(*ylim)
        if len(frame.columns) > 1:
            ax.legend(fontsize=7)
        ax.set_title(title, fontsize=9)
        ax.set_ylabel(ylabel, fontsize=8)
        return _svg(fig)
    finally:
        plt.close(fig)


def html_table(frame: pd.DataFrame, float_format: str = "{:.3f}", index: bool = True) -> str:
    return frame.to_html(
        float_format=lambda value: float_format.format(value),
        border=0,
        classes="table",
        na_rep="—",
        index=index,
    )


def html_page(title: str, sections: list[tuple[str, str]]) -> str:
    """A standalone page: ``sections`` are (heading, HTML body) pairs."""
    body = "\n".join(f"<section><h2>{html.escape(h)}</h2>\n{content}</section>" for h, content in sections)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; color: #222; max-width: 1100px; }}
table.table {{ border-collapse: collapse; font-size: 0.9rem; }}
table.table th, table.table td {{
  padding: 0.25rem 0.6rem; border-bottom: 1px solid #ddd; text-align: right;
}}
.pass {{ color: #17703a; font-weight: 600; }} .fail {{ color: #b00020; font-weight: 600; }}
svg {{ max-width: 100%; height: auto; }}
</style></head>
<body><h1>{html.escape(title)}</h1>
{body}
</body></html>
"""
