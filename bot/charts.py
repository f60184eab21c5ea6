"""Charts for leaders, drawn in memory with matplotlib's Agg backend (no display, no files)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date

import matplotlib

matplotlib.use("Agg")

from matplotlib.figure import Figure


def weekly_chart(title: str, weeks: Sequence[tuple[date, int, int, int]]) -> bytes:
    """Open, overdue and done per week: `weeks` holds (week start, open, overdue, done), oldest first."""
    labels = [f"{start:%d %b}" for start, *_ in weeks]
    opened = [row[1] for row in weeks]
    overdue = [row[2] for row in weeks]
    done = [row[3] for row in weeks]
    figure = Figure(figsize=(7, 3.2), dpi=110)
    axes = figure.subplots()
    positions = range(len(weeks))
    axes.bar(positions, done, color="#2e7d32", alpha=0.75, label="done that week")
    axes.plot(positions, opened, color="#1d4e89", marker="o", linewidth=2, label="open")
    axes.plot(positions, overdue, color="#c62828", marker="o", linewidth=2, label="overdue")
    axes.set_xticks(list(positions), labels, fontsize=8)
    axes.set_ylim(0, max([*opened, *overdue, *done, 1]) * 1.3)  # headroom for the legend
    axes.yaxis.get_major_locator().set_params(integer=True)
    axes.set_title(title, fontsize=11, loc="left")
    axes.spines[["top", "right"]].set_visible(False)
    axes.legend(fontsize=8, frameon=False, loc="upper left", ncols=3)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
