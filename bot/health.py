"""What `/healthz` reports: the database is reachable, when the scheduler's pass last finished, and how long
the longest-waiting due message has waited, so an operator's monitor can tell a stalled scheduler."""

from __future__ import annotations

from typing import Any

from bot.clock import Clock
from storage import queries
from storage.db import SessionFactory

PASS = "pass"


class Health:
    def __init__(self, session_factory: SessionFactory, clock: Clock, pass_every_seconds: int) -> None:
        self._sessions = session_factory
        self._clock = clock
        # A pass later than this is a stall: a few missed intervals, never less than five minutes.
        self.stalled_after_seconds = max(5 * pass_every_seconds, 300)

    def passed(self) -> None:
        with self._sessions.begin() as session:
            queries.beat(session, PASS, self._clock.now())

    def report(self) -> tuple[int, dict[str, Any]]:
        now = self._clock.now()
        try:
            with self._sessions() as session:
                last_pass = queries.last_beat(session, PASS)
                oldest = queries.oldest_unsent(session, now)
                retrying = queries.unsent_after_failures(session)
        except Exception:
            return 503, {"status": "unavailable", "database": "unreachable"}
        pass_age = None if last_pass is None else round((now - last_pass).total_seconds())
        if pass_age is None:
            scheduler = "never_ran"
        elif pass_age > self.stalled_after_seconds:
            scheduler = "stalled"
        else:
            scheduler = "ok"
        return 200, {
            "status": "ok",
            "database": "ok",
            "scheduler": scheduler,
            "last_pass_age_seconds": pass_age,
            "oldest_unsent_age_seconds": None if oldest is None else round((now - oldest).total_seconds()),
            "unsent_after_failures": retrying,
        }
