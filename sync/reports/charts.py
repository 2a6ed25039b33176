"""The report charts, drawn by matplotlib (Agg/SVG backends, no display, no pyplot state).

Each function takes report data and returns a `Figure`; `as_svg` / `as_png` render it. Text is
drawn as paths, so an SVG needs no font and no network to look the same everywhere.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import matplotlib
from matplotlib.figure import Figure

from sync.reports.series import ChannelSeries

matplotlib.rcParams.update({"svg.hashsalt": "marketsync", "svg.fonttype": "path", "font.size": 9,
                            "axes.spines.top": False, "axes.spines.right": False})
WIDTH, HEIGHT = 8.0, 3.6


def _empty(figure: Figure, title: str, message: str) -> Figure:
    axes = figure.subplots()
    axes.set_title(title, loc="left")
    axes.text(0.5, 0.5, message, ha="center", va="center", transform=axes.transAxes, color="#666666")
    axes.set_axis_off()
    return figure


def sales_per_channel(series: ChannelSeries, bucket: str = "day") -> Figure:
    """GMV per channel per day (orders when the GMV cannot be put in one currency)."""
    figure = Figure(figsize=(WIDTH, HEIGHT), layout="constrained")
    use_gmv = series.currency is not None
    title = f"GMV per channel per {bucket} ({series.currency})" if use_gmv else f"Orders per channel per {bucket}"
    if not series.orders:
        return _empty(figure, title, "no sales in this period")
    axes = figure.subplots()
    positions = range(len(series.buckets))
    for channel in sorted(series.orders):
        values: Sequence[float] = [float(series.gross.get(channel, {}).get(label, 0)) for label in series.buckets] \
            if use_gmv else [series.orders[channel].get(label, 0) for label in series.buckets]
        axes.plot(positions, values, marker="o", markersize=3, linewidth=1.5, label=channel)
    step = max(1, len(series.buckets) // 10)
    axes.set_xticks(list(positions)[::step], [label[5:] for label in series.buckets][::step])
    axes.set_title(title, loc="left")
    axes.set_ylim(bottom=0)
    axes.grid(axis="y", alpha=0.3)
    axes.legend(frameon=False, loc="upper left")
    return figure


def top_skus(rows: Sequence[dict[str, Any]], limit: int = 10) -> Figure:
    """The best-selling SKUs by units, with their refunded units."""
    figure = Figure(figsize=(WIDTH, HEIGHT), layout="constrained")
    title = f"Top {limit} SKUs by units sold"
    best = sorted(rows, key=lambda row: (-row["units"], row["key"]))[:limit]
    if not best:
        return _empty(figure, title, "no sales in this period")
    axes = figure.subplots()
    labels = [row["key"] for row in reversed(best)]
    axes.barh(labels, [row["units"] for row in reversed(best)], color="#4C78A8", label="units")
    axes.barh(labels, [row["refunded_units"] for row in reversed(best)], color="#E45756", label="refunded")
    axes.set_title(title, loc="left")
    axes.grid(axis="x", alpha=0.3)
    axes.legend(frameon=False, loc="lower right")
    return figure


def stock_cover(rows: Sequence[dict[str, Any]], limit: int = 15) -> Figure:
    """Available units of the fastest-moving SKUs, with each SKU's reorder point as a red line."""
    figure = Figure(figsize=(WIDTH, HEIGHT + 0.8), layout="constrained")
    title = "Stock available and reorder point (fastest-moving SKUs)"
    moving = sorted((row for row in rows if row["velocity"] > 0), key=lambda row: (-row["velocity"], row["sku"]))
    shown = list(reversed(moving[:limit]))
    if not shown:
        return _empty(figure, title, "no SKU sold in the velocity window")
    axes = figure.subplots()
    labels = [row["sku"] for row in shown]
    colours = ["#E45756" if row["available"] <= row["reorder_point"] else "#54A24B" for row in shown]
    axes.barh(labels, [max(row["available"], 0) for row in shown], color=colours)
    for position, row in enumerate(shown):
        axes.vlines(row["reorder_point"], position - 0.4, position + 0.4, colors="#B22222", linewidth=2)
        cover = row["days_of_cover"]
        label = "∞" if cover is None else f"{cover:.1f} d" if cover < 10 else f"{cover:.0f} d"
        axes.annotate(label, (max(row["available"], 0), position),
                      xytext=(3, 0), textcoords="offset points", va="center", fontsize=7)
    axes.set_title(title, loc="left")
    axes.set_xlabel("units (bar: available; red line: reorder point; label: days of cover)")
    axes.grid(axis="x", alpha=0.3)
    return figure


def returns_by_reason(reasons: dict[str, int]) -> Figure:
    """Returned units per reason."""
    figure = Figure(figsize=(WIDTH, HEIGHT), layout="constrained")
    title = "Returns by reason (units)"
    if not reasons:
        return _empty(figure, title, "no returns in this period")
    axes = figure.subplots()
    ordered = sorted(reasons.items(), key=lambda item: (item[1], item[0]))
    axes.barh([reason for reason, _ in ordered], [units for _, units in ordered], color="#F58518")
    axes.set_title(title, loc="left")
    axes.grid(axis="x", alpha=0.3)
    return figure


def as_svg(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None})
    return buffer.getvalue()


def as_png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    return buffer.getvalue()
