"""Charts for leaders, drawn in memory with matplotlib's Agg backend (no display, no files).

Titles carry what people typed (a clinic's name, an indicator's) and are drawn as typed (parse_math=False):
matplotlib would otherwise read text between two `$` as maths, drawing it askew, or failing on it outright
(a `%` between them) so that no chart is sent."""

from __future__ import annotations

import io
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import pairwise

import matplotlib

matplotlib.use("Agg")

from matplotlib.axes import Axes
from matplotlib.dates import AutoDateLocator, DateFormatter
from matplotlib.figure import Figure
from matplotlib.ticker import Formatter


@dataclass(frozen=True)
class Series:
    """One indicator over time, for a small panel: its readings, baseline and target."""

    name: str
    unit: str
    readings: Sequence[tuple[date, float]]
    baseline: tuple[date, float]
    target: tuple[date, float]
    verdict: str


PANELS_PER_ROW = 2
TITLE_LINE = 44  # characters a line of a panel's title holds at its size, across a panel
ONE_READING_SPAN = timedelta(days=14)  # either side of a panel's only reading, for dates near it on its axis
# (the least a value axis's largest tick reaches to be written in a unit, the unit, its suffix), largest first:
# 1,200 is plainer than 1.2k, 12k than 12,000
SCALES = ((1_000_000.0, 1_000_000.0, "M"), (10_000.0, 1_000.0, "k"))
MAX_DECIMALS = 8


class Figures(Formatter):
    """A value axis's ticks written out as people write figures: 2.4M, 350k, 1,200, 45.5, 0.004. matplotlib's
    own formatter moves a large or fine figure's magnitude into an offset ("1e6") in the axis's corner, which
    a reader does not see: £2,400,000 then reads £2.4."""

    scale = 1.0
    suffix = ""
    decimals = 0

    def set_locs(self, locs) -> None:  # type: ignore[no-untyped-def]
        super().set_locs(locs)
        values = [float(v) for v in locs]
        biggest = max((abs(v) for v in values), default=0.0)
        self.scale, self.suffix = next(((unit, x) for least, unit, x in SCALES if biggest >= least), (1.0, ""))
        scaled = [v / self.scale for v in values]
        gaps = [b - a for a, b in pairwise(scaled) if b != a]
        # As many decimals as tell the ticks apart exactly, ignoring the float noise of the locator's steps.
        tolerance = 1e-6 * min((abs(g) for g in gaps), default=max(biggest / self.scale, 1.0))
        self.decimals = next(
            (d for d in range(MAX_DECIMALS + 1) if all(abs(round(v, d) - v) <= tolerance for v in scaled)),
            MAX_DECIMALS,
        )

    def __call__(self, x: float, pos: int | None = None) -> str:
        shown = round(x / self.scale, self.decimals) + 0.0  # + 0.0: no "-0"
        return f"{shown:,.{self.decimals}f}{self.suffix}".replace("-", "\N{MINUS SIGN}")


def weekly_chart(title: str, weeks: Sequence[tuple[date, int, int, int]], indicators: Sequence[Series] = ()) -> bytes:
    """Open, overdue and done per week (`weeks` holds (week start, open, overdue, done), oldest first), and
    under it a small panel per indicator given: its readings, the baseline and the target line."""
    shown = list(indicators)
    rows = (len(shown) + PANELS_PER_ROW - 1) // PANELS_PER_ROW
    figure = Figure(figsize=(7, 3.2 + 2.3 * rows), dpi=110)
    grid = figure.add_gridspec(1 + rows, PANELS_PER_ROW, height_ratios=[3.2] + [2.3] * rows)
    _weeks(figure.add_subplot(grid[0, :]), title, weeks)
    for n, series in enumerate(shown):
        _indicator(figure.add_subplot(grid[1 + n // PANELS_PER_ROW, n % PANELS_PER_ROW]), series)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _weeks(axes: Axes, title: str, weeks: Sequence[tuple[date, int, int, int]]) -> None:
    labels = [f"{start:%d %b}" for start, *_ in weeks]
    opened = [row[1] for row in weeks]
    overdue = [row[2] for row in weeks]
    done = [row[3] for row in weeks]
    positions = range(len(weeks))
    axes.bar(positions, done, color="#2e7d32", alpha=0.75, label="done that week")
    axes.plot(positions, opened, color="#1d4e89", marker="o", linewidth=2, label="open")
    axes.plot(positions, overdue, color="#c62828", marker="o", linewidth=2, label="overdue")
    axes.set_xticks(list(positions), labels, fontsize=8)
    axes.set_ylim(0, max([*opened, *overdue, *done, 1]) * 1.3)  # headroom for the legend
    axes.yaxis.get_major_locator().set_params(integer=True)
    axes.yaxis.set_major_formatter(Figures())
    axes.set_title(title, fontsize=11, loc="left", parse_math=False)
    axes.spines[["top", "right"]].set_visible(False)
    axes.legend(fontsize=8, frameon=False, loc="upper left", ncols=3)


def _indicator(axes: Axes, series: Series) -> None:
    unit = f" ({series.unit})" if series.unit else ""
    # The whole name, on as many lines as it takes (names are at most 80 characters): two indicators whose
    # names share a long start differ only at the end.
    title = textwrap.fill(f"{series.name}{unit}: {series.verdict}", TITLE_LINE)
    axes.set_title(title, fontsize=9, loc="left", parse_math=False)
    axes.axhline(series.target[1], color="#2e7d32", linestyle="--", linewidth=1.2, label="target")
    axes.axhline(series.baseline[1], color="#9e9e9e", linestyle=":", linewidth=1.2, label="baseline")
    if series.readings:
        days, values = zip(*series.readings, strict=True)
        axes.plot(days, values, color="#1d4e89", marker="o", linewidth=2, label="readings")
    else:
        axes.text(0.5, 0.5, "no readings yet", transform=axes.transAxes, ha="center", va="center", fontsize=8)
    days = sorted({day for day, _ in series.readings})
    if not days:
        axes.set_xticks([])  # no reading, no date: the locator would label an empty axis with days of 1970
    else:
        if len(days) == 1:
            # A single day is no span: the locator would fall back to yearly ticks, each labelled "01 Jan".
            axes.set_xlim(days[0] - ONE_READING_SPAN, days[0] + ONE_READING_SPAN)
        axes.xaxis.set_major_locator(AutoDateLocator(minticks=2, maxticks=4))
        axes.xaxis.set_major_formatter(DateFormatter("%d %b"))
    axes.yaxis.set_major_formatter(Figures())
    axes.tick_params(labelsize=7)
    axes.spines[["top", "right"]].set_visible(False)
    axes.legend(fontsize=6, frameon=False, loc="best")
