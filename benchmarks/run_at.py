"""`python -m benchmarks.run_at ARGS...`: `clinic-bot run ARGS...` as if it were the seeded Monday morning
(`benchmarks.seed.NOW`). The same command, settings and code; only the clock it is built with starts
at that instant and runs on in real time, as `clinic-bot tick --now` does for one pass."""

from __future__ import annotations

import sys

from benchmarks.seed import NOW
from bot import cli
from bot.clock import ShiftedClock

if __name__ == "__main__":
    cli.SystemClock = lambda: ShiftedClock(NOW)  # type: ignore[assignment,misc]
    sys.exit(cli.main(["run", *sys.argv[1:]]))
