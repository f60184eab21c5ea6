"""Keeping data no longer than needed: with RETENTION_DAYS set, once a day the scheduler deletes actions
closed longer ago than that, with their history, and one-to-one topics discussed longer ago than that (what
`clinic-bot purge` does by hand)."""

from __future__ import annotations

import logging
from datetime import timedelta

from bot.clock import Clock
from storage import queries
from storage.db import SessionFactory

log = logging.getLogger("clinic_bot.retention")

PURGE = "purge"


class Retention:
    def __init__(self, session_factory: SessionFactory, clock: Clock, days: int | None) -> None:
        self._sessions = session_factory
        self._clock = clock
        self._days = days

    def run_if_due(self) -> queries.Purged | None:
        """Purge, unless retention is off or a purge ran in the last day (in any process)."""
        if self._days is None:
            return None
        now = self._clock.now()
        with self._sessions.begin() as session:
            last = queries.last_beat(session, PURGE)
            if last is not None and now - last < timedelta(days=1):
                return None
            queries.beat(session, PURGE, now)
            purged = queries.purge(session, now - timedelta(days=self._days), now=now)
        log.info("retention_purge", extra={**purged._asdict(), "days": self._days})
        return purged
