"""Walking the simulated clock through days and weeks, running the real scheduler pass at each step, and
recording who was told what, when (in their own time zone)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.app import ClinicBot
from bot.clock import FixedClock
from bot.demo.standin import Call, SlackStandIn
from scheduler import run_pass


@dataclass(frozen=True)
class Told:
    at: datetime  # simulated instant of the pass that sent it
    recipient: str
    call: Call

    def local(self, tz: str) -> str:
        return self.at.astimezone(ZoneInfo(tz)).strftime("%a %d %b %H:%M")


class Walk:
    def __init__(self, bot: ClinicBot, slack: SlackStandIn, clock: FixedClock) -> None:
        self.bot, self.slack, self.clock = bot, slack, clock
        self.seen = len(slack.calls_to("chat.postMessage"))
        self.told: list[Told] = []

    def until(self, end: datetime, step: timedelta = timedelta(minutes=30)) -> list[Told]:
        new: list[Told] = []
        while self.clock.now() < end:
            self.clock.advance(step)
            new += self.run()
        return new

    def settle(self) -> None:
        """Wait for what requests queued for now (assignment DMs) to be delivered, then record afresh."""
        if not self._all_due_sent():
            raise AssertionError("requests' messages were never delivered")
        self.seen = len(self.slack.calls_to("chat.postMessage"))
        self.told = []

    def run(self) -> list[Told]:
        run_pass(self.bot.services)
        # The delivery worker a request started may have taken some of what the pass queued: wait until
        # it has sent them too, so that they count as told at this pass, not the next.
        self._all_due_sent()
        calls = self.slack.calls_to("chat.postMessage")
        new = [Told(self.clock.now(), c.params["channel"].removeprefix("D"), c) for c in calls[self.seen :]]
        self.seen = len(calls)
        self.told += new
        return new

    def _all_due_sent(self, seconds: float = 5) -> bool:
        """Whether, within `seconds`, no message due now is left waiting to be sent."""
        from sqlalchemy import func, select

        from storage.models import OutboxMessage

        deadline = time.monotonic() + seconds
        while True:
            with self.bot.services.sessions() as session:
                pending = session.scalar(
                    select(func.count()).where(
                        OutboxMessage.state == "pending", OutboxMessage.not_before <= self.clock.now()
                    )
                )
            if not pending:
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)

    def to(self, user: str, *, digests: bool = False) -> list[Told]:
        """What `user` was told; leaders' weekly digests only when asked for."""
        return [
            t
            for t in self.told
            if t.recipient == user and (digests or not str(t.call.params.get("text", "")).startswith("Weekly digest"))
        ]
