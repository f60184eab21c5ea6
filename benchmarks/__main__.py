"""`python -m benchmarks`: seed databases with many actions and measure what must stay fast.

Scheduler pass: the time to plan one pass (decide and record every due reminder, nudge and
escalation, and queue the messages) with 1% of the stored actions due, at 10k / 100k / 1M stored, and
at 1M with 0.1% and 10% due: the cost must follow the number due, not the number stored. Each figure
is the median of three passes from the same state. Results print as a Markdown table; `--write-readme`
puts it into README.md between its markers."""

from __future__ import annotations

import argparse
import platform
import re
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from benchmarks import delivery
from benchmarks.ack import HEADER, measure
from benchmarks.seed import NOW, make_due, seed, vacuum
from bot.chasing import ChasePolicy
from bot.cli import freeze_start_up_objects
from bot.clock import FixedClock
from bot.nudges import NudgePlanner
from bot.working_time import WorkingHours
from storage.db import make_engine, make_session_factory, upgrade

README = Path(__file__).parents[1] / "README.md"
START, END = "<!-- benchmarks:start -->", "<!-- benchmarks:end -->"
RUNS = 3  # each pass is timed this many times, from the same state; the median is shown
ACK_START, ACK_END = "<!-- benchmarks-ack:start -->", "<!-- benchmarks-ack:end -->"


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
        freeze_start_up_objects()  # as `clinic-bot run` and `clinic-bot scheduler` do before their first pass
        fractions = [1000, 100, 10] if size == (largest or max(sizes)) else [100]
        for every in fractions:
            runs = []
            for _ in range(RUNS):
                due = make_due(engine, every)
                started = time.perf_counter()
                report = planner.plan()
                runs.append(time.perf_counter() - started)
                assert report.checked == due, (report.checked, due)
            took = statistics.median(runs)
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
    notes = []
    for label in sorted({r[0] for r in rows}):
        for due in sorted({r[3] for r in rows if r[0] == label}):
            same = sorted((size, took) for lab, _, size, d, took in rows if lab == label and d == due)
            if len(same) >= 2:
                (small, fast), (large, slow) = same[0], same[-1]
                notes.append(
                    f"{label}: {due:,} due, {large:,} stored against {small:,} stored: {slow / fast:.2f}x the time"
                )
    return "\n".join(lines) + "\n\n" + "".join(f"- {n}\n" for n in notes)


def _machine() -> str:
    return f"{platform.machine()}, {_cpus()} CPUs, Python {platform.python_version()}, {date.today():%Y-%m-%d}"


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--only", choices=["pass", "ack", "delivery"], help="one of the tables (default: all)")
    parser.add_argument("--messages", type=int, default=10_000, help="delivery: messages queued, to a tenth as many")
    parser.add_argument("--requests", type=int, default=2000, help="in-process requests per measurement")
    parser.add_argument("--write-readme", action="store_true", help="replace the tables in README.md")
    args = parser.parse_args(argv)
    rows: list[tuple[str, str, int, int, float]] = []
    ack_rows: list[str] = []
    with tempfile.TemporaryDirectory() as folder:
        databases = []
        if args.db in ("sqlite", "both"):
            databases.append(("SQLite", lambda name: f"sqlite:///{folder}/{name}.db"))
        if args.db in ("postgresql", "both"):
            from tests.postgres import ThrowawayPostgres, find_pg_bin

            bin_dir = find_pg_bin()
            if bin_dir is None:
                print("PostgreSQL binaries not found: install the postgresql package", file=sys.stderr)
                return 2
            cluster = ThrowawayPostgres(bin_dir).start()
            databases.append(("PostgreSQL", cluster.create_database))
        for label, new_database in databases:
            if args.only in (None, "pass"):
                for size in args.sizes:
                    rows += measure_pass(new_database(f"bench_{size}"), [size], label, largest=max(args.sizes))
            if args.only in (None, "ack"):
                ack_rows += measure_ack(new_database("bench_ack"), label, max(args.sizes), args.requests)
        # Delivery under Slack's limits (benchmarks/delivery.py): its own table, on the same databases.
        delivery_table = delivery.run(databases, args.messages) if args.only in (None, "delivery") else ""
        if args.db in ("postgresql", "both"):
            cluster.stop()
    machine = f"Measured on {_machine()}."
    text = README.read_text()
    if rows:
        result = table(rows) + f"\n{machine}\n"
        print(result)
        text = re.sub(f"{START}.*?{END}", f"{START}\n{result}{END}", text, flags=re.S)
    if ack_rows:
        result = "\n".join([HEADER, *ack_rows]) + f"\n\n{machine}\n"
        print(result)
        text = re.sub(f"{ACK_START}.*?{ACK_END}", f"{ACK_START}\n{result}{ACK_END}", text, flags=re.S)
    if delivery_table:
        result = delivery_table + f"\n{machine}\n"
        print(result)
        text = delivery.into_readme(text, result)
    if args.write_readme:
        README.write_text(text)
    return 0


def measure_ack(url: str, label: str, size: int, requests: int) -> list[str]:
    upgrade(url)
    engine = make_engine(url)
    started = time.perf_counter()
    seed(engine, size)
    vacuum(engine)
    print(f"  {label}: seeded {size:,} actions in {time.perf_counter() - started:.1f}s", file=sys.stderr)
    try:
        return measure(url, engine, label, size, requests)
    finally:
        engine.dispose()
        yield_url_reset(url)


if __name__ == "__main__":
    sys.exit(main())
