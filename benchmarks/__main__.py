"""`python -m benchmarks`: seed databases with many actions and measure what must stay fast.

Scheduler pass: the time to plan one pass (decide and record every due reminder, nudge and
escalation, and queue the messages) with 1% of the stored actions due, at 10k / 100k / 1M stored, and
at 1M with 0.1% and 10% due: the cost must follow the number due, not the number stored.
Results print as a Markdown table; `--write-readme` puts it into README.md between its markers."""

from __future__ import annotations

import argparse
import platform
import re
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from benchmarks.seed import NOW, make_due, seed
from bot.chasing import ChasePolicy
from bot.clock import FixedClock
from bot.nudges import NudgePlanner
from bot.working_time import WorkingHours
from storage.db import make_engine, make_session_factory, upgrade

README = Path(__file__).parents[1] / "README.md"
START, END = "<!-- benchmarks:start -->", "<!-- benchmarks:end -->"


def measure_pass(
    url: str, sizes: list[int], label: str, largest: int | None = None
) -> list[tuple[str, str, int, int, float]]:
    rows = []
    for size in sizes:
        upgrade(url)
        engine = make_engine(url)
        started = time.perf_counter()
        seed(engine, size)
        print(f"  {label}: seeded {size:,} actions in {time.perf_counter() - started:.1f}s", file=sys.stderr)
        planner = NudgePlanner(make_session_factory(engine), FixedClock(NOW), WorkingHours(), ChasePolicy())
        fractions = [1000, 100, 10] if size == (largest or max(sizes)) else [100]
        for every in fractions:
            due = make_due(engine, every)
            started = time.perf_counter()
            report = planner.plan()
            took = time.perf_counter() - started
            assert report.checked == due, (report.checked, due)
            rows.append((label, f"{100 / every:g}%", size, due, took))
            print(f"  {label}: {size:,} stored, {due:,} due: {took:.3f}s", file=sys.stderr)
        engine.dispose()
        yield_url_reset(url)
    return rows


def yield_url_reset(url: str) -> None:
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).unlink(missing_ok=True)


def table(rows: list[tuple[str, str, int, int, float]]) -> str:
    lines = [
        "| database | stored actions | due | plan one pass | per due action |",
        "|---|---:|---:|---:|---:|",
    ]
    for label, _share, size, due, took in rows:
        lines.append(f"| {label} | {size:,} | {due:,} | {took * 1000:,.0f} ms | {took / max(due, 1) * 1e6:,.0f} µs |")
    by = {(label, size, due): took for label, _, size, due, took in rows}
    notes = []
    for label in sorted({r[0] for r in rows}):
        same_due = [(size, due, took) for (lab, size, due), took in by.items() if lab == label]
        big = max(same_due, default=None)
        if big is None:
            continue
        per_due = {size: took / max(due, 1) for size, due, took in same_due if due * 100 == size}
        if len(per_due) >= 2:
            small, large = min(per_due), max(per_due)
            notes.append(
                f"{label}: cost per due action at {large:,} stored / at {small:,} stored "
                f"= {per_due[large] / per_due[small]:.2f}"
            )
    machine = f"{platform.machine()}, {_cpus()} CPUs, Python {platform.python_version()}, {date.today():%Y-%m-%d}"
    return "\n".join(lines) + "\n\n" + "".join(f"- {n}\n" for n in notes) + f"\nMeasured on {machine}.\n"


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--write-readme", action="store_true", help="replace the table in README.md")
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        if args.db in ("sqlite", "both"):
            rows += measure_pass(f"sqlite:///{folder}/bench.db", args.sizes, "SQLite")
        if args.db in ("postgresql", "both"):
            from tests.postgres import ThrowawayPostgres, find_pg_bin

            bin_dir = find_pg_bin()
            if bin_dir is None:
                print("PostgreSQL binaries not found: install the postgresql package", file=sys.stderr)
                return 2
            with ThrowawayPostgres(bin_dir) as cluster:
                for size in args.sizes:
                    url = cluster.create_database(f"bench_{size}")
                    rows += measure_pass(url, [size], "PostgreSQL", largest=max(args.sizes))
    result = table(rows)
    print(result)
    if args.write_readme:
        text = README.read_text()
        text = re.sub(f"{START}.*?{END}", f"{START}\n{result}{END}", text, flags=re.S)
        README.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
