"""Delivering the outbox: claim due messages under a lease, send them at a pace Slack accepts, record
what Slack said.

Retries are ours, not slack_sdk's: a rate limit holds back the workspace until Retry-After and is never
counted as a failed try, an outage backs off with jitter, and a permanent failure (a deactivated user, a
missing channel) is recorded, not retried."""

from __future__ import annotations

import logging
import math
import random
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from bot.actions import lead_of, tell
from bot.clock import Clock
from bot.one_on_one import tell_agenda_refused
from bot.slack import (
    LookupThrottled,
    RateLimited,
    RecipientGone,
    SlackFailure,
    SlackGateway,
    SlackUnavailable,
    outbox_metadata,
)
from bot.views import actions as views
from bot.wins import tell_wins_refused
from storage import queries
from storage.db import SessionFactory
from storage.models import Action, OutboxMessage

log = logging.getLogger("clinic_bot.delivery")


@dataclass(frozen=True)
class Upload:
    """A rendered message that is a file, posted into a conversation (under a message, if `thread_ts`);
    an image with what a screen reader says of it (`alt_text`)."""

    content: bytes
    filename: str
    title: str
    channel: str
    thread_ts: str | None = None
    alt_text: str | None = None


Renderer = Callable[[Session, OutboxMessage], "tuple[str, list[dict[str, Any]]] | Upload | None"]

LEASE = timedelta(seconds=60)
BATCH = 20
MAX_BACKOFF = timedelta(minutes=15)
# A claimed message waiting for its turn longer than this (real time) is handed back rather than risk
# sending it after its lease has run out and another process has taken it.
HOLD_AT_MOST = LEASE.total_seconds() / 2
NAP = 0.25  # the longest a pass sleeps before looking again at what it holds


@dataclass
class DeliveryReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    dropped: int = 0  # decided, then with nothing left to say when due: not sent, on purpose

    def __iadd__(self, other: DeliveryReport) -> DeliveryReport:
        for count in fields(self):
            setattr(self, count.name, getattr(self, count.name) + getattr(other, count.name))
        return self


@dataclass(frozen=True)
class Pace:
    """How fast we post, kept inside Slack's limits so that a 429 is the exception, not the way we learn
    the limit. Slack allows about one message a second into any one conversation (`per_channel` seconds
    apart, counted from Slack's answer to the last one) and caps a whole workspace at a rate its rate-limit
    page does not put a number on; `per_second` on average, in bursts of at most `burst`, is a cautious
    guess at it."""

    per_channel: float = 1.0
    per_second: float = 5.0
    burst: int = 5


class Pacer:
    """Whose turn it is to be posted to. One per Delivery, shared by its background worker and any pass
    running at the same time. The pace is kept in real (monotonic) time, even under a simulated clock: Slack
    counts real seconds. A workspace held after a 429 is held on the delivery clock instead, like the refused
    message's own `not_before`, so that the message and its workspace are free again at the same moment."""

    def __init__(self, pace: Pace, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.pace = pace
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._free_at: dict[tuple[str, str], float] = {}  # conversation -> when it may be posted to again
        self._buckets: dict[str, tuple[float, float]] = {}  # team -> (tokens, counted at)
        self._held: dict[str, datetime] = {}  # team -> when Slack lets us post there again

    def take(self, team: str, channel: str) -> float:
        """Take the turn to post into `channel` (0.0; call `done` after, and `posted` if Slack counted a
        message), or say how many seconds until it could be taken."""
        with self._lock:
            now = self._monotonic()
            tokens, counted = self._buckets.get(team, (float(self.pace.burst), now))
            tokens = min(float(self.pace.burst), tokens + (now - counted) * self.pace.per_second)
            self._buckets[team] = (tokens, now)
            wait = max(self._free_at.get((team, channel), now) - now, (1 - tokens) / self.pace.per_second)
            if wait > 0:
                return wait
            self._buckets[team] = (tokens - 1, now)
            self._free_at[(team, channel)] = math.inf  # another thread's turn waits until this one is over
            return 0.0

    def posted(self, team: str, channel: str) -> None:
        """Slack counted a message into `channel` (it posted it, or refused it with a 429)."""
        with self._lock:
            self._free_at[(team, channel)] = self._monotonic() + self.pace.per_channel

    def hold(self, team: str, until: datetime) -> None:
        """Slack refused a post with a 429: post nothing more into the workspace before `until`. Slack's
        Retry-After is for the app in the whole workspace, so every message to it would only be refused too."""
        with self._lock:
            self._held[team] = max(until, self._held.get(team, until))

    def held(self, now: datetime) -> set[str]:
        """The workspaces nothing may be posted to at `now`."""
        with self._lock:
            self._held = {team: until for team, until in self._held.items() if until > now}
            return set(self._held)

    def done(self, team: str, channel: str) -> None:
        """The turn is over; when nothing was posted (Slack failed, nothing left to say), the conversation
        is free at once."""
        with self._lock:
            if self._free_at.get((team, channel)) == math.inf:
                del self._free_at[(team, channel)]
            if len(self._free_at) > 10_000:  # forget conversations that are free again
                now = self._monotonic()
                self._free_at = {key: at for key, at in self._free_at.items() if at > now}


@dataclass(frozen=True)
class _Held:
    """A message claimed by a pass and waiting for its turn."""

    id: int
    team: str
    recipient: str
    claim: str
    since: float  # monotonic


class Delivery:
    def __init__(
        self,
        session_factory: SessionFactory,
        clock: Clock,
        gateway_for: Callable[[str], SlackGateway],
        renderers: dict[str, Renderer],
        *,
        max_attempts: int = 8,
        pace: Pace | None = None,
    ) -> None:
        """`renderers` turn a decided message, by kind, into what is said as things stand when it is sent
        (other kinds are written when queued); a renderer answering None means there is nothing left to say."""
        self._sessions = session_factory
        self._clock = clock
        self._gateway_for = gateway_for
        self._renderers = renderers
        self._max_attempts = max_attempts
        self.pacer = Pacer(pace or Pace())
        self.worker_id = uuid.uuid4().hex[:12]
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._draining = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    # --- one pass -----------------------------------------------------------------------------

    def deliver_due(self) -> DeliveryReport:
        """Send everything due now, at Slack's pace, until nothing due is left unclaimed.

        Messages are claimed a batch at a time and held until their turn: one whose conversation was
        posted to a moment ago waits while messages to others go first, and the pass sleeps only when
        nothing it holds or could claim may go yet. Whatever is still held when the pass ends (a stop, a
        drain, an error) is handed back unsent, for any process to take at once. A workspace Slack has
        asked us to wait for is left alone: what is held for it is handed back, and nothing more is claimed."""
        report = DeliveryReport()
        held: list[_Held] = []
        # Enough in hand to keep the workspace's pace busy for ~10 s while some conversations wait their turn.
        most = max(BATCH, int(self.pacer.pace.per_second * 10))
        try:
            while not (self._stopping.is_set() or self._draining.is_set()):
                on_hold = self.pacer.held(self._clock.now())
                self._hand_back(
                    [h for h in held if h.team in on_hold or time.monotonic() - h.since > HOLD_AT_MOST], held
                )
                turn = self._next_turn(held)
                if isinstance(turn, _Held):
                    outcome = self._deliver_in_turn(turn)
                    setattr(report, outcome, getattr(report, outcome) + 1)
                    continue
                fresh = self._claim(min(BATCH, most - len(held)), skip_teams=on_hold)
                if fresh:
                    held += fresh
                elif not held:
                    break
                else:
                    self._stopping.wait(min(turn, NAP))
        finally:
            self._hand_back(list(held), held)
        return report

    def _claim(self, limit: int, *, skip_teams: set[str]) -> list[_Held]:
        if limit <= 0:
            return []
        now = self._clock.now()
        # Each claim has its own name: the background worker and a pass share this object (and, on a
        # simulated clock, the instant), and must never both believe they hold the same message.
        claim = f"{self.worker_id}-{uuid.uuid4().hex[:12]}"
        with self._sessions.begin() as session:
            claimed = queries.claim_due(session, now, now + LEASE, claim, limit=limit, skip_teams=skip_teams)
        since = time.monotonic()
        return [_Held(message_id, team, recipient, claim, since) for message_id, team, recipient in claimed]

    def _next_turn(self, held: list[_Held]) -> _Held | float:
        """The first held message whose turn it is (taken), or the seconds until one's could be."""
        wait = math.inf
        for n, message in enumerate(held):
            until = self.pacer.take(message.team, message.recipient)
            if until == 0:
                return held.pop(n)
            wait = min(wait, until)
        return wait

    def _deliver_in_turn(self, message: _Held) -> str:
        try:
            return self._deliver_one(message.id)
        finally:
            self.pacer.done(message.team, message.recipient)

    def _hand_back(self, messages: list[_Held], held: list[_Held]) -> None:
        for message in messages:
            held.remove(message)
        for claim in {m.claim for m in messages}:
            with self._sessions.begin() as session:
                queries.release_claims(session, [m.id for m in messages if m.claim == claim], claim)

    def drain(self) -> None:
        """For a graceful stop: finish the message in hand, claim no more, and hand back what was claimed
        but not sent, so another process sends it at once and nothing is sent twice."""
        self._draining.set()
        self.stop()

    def _deliver_one(self, message_id: int) -> str:
        with self._sessions() as session:
            message = queries.get_outbox(session, message_id)
            if message is None or message.state != "pending":
                return "sent"
            team_id, recipient, key = message.team_id, message.recipient, message.dedupe_key
            text, blocks, attempts = message.text, message.blocks, message.attempts
            upload = None
            if render := self._renderers.get(message.kind):
                try:
                    rendered = render(session, message)
                except SlackFailure as exc:  # the renderer waits on something still to be delivered
                    return self._retry(message_id, attempts, exc.error, _backoff(attempts), settled=False)
                except SQLAlchemyError:
                    raise  # the database is unwell: the pass stops, and every message waits for the next
                except Exception as exc:
                    # A message that cannot be written will not be written on the next try either; left
                    # pending, it would be claimed first on every pass and hold back all the others.
                    log.exception("render_failed", extra={"outbox_id": message_id, "kind": message.kind})
                    return self._give_up(message_id, attempts, f"could not be written ({type(exc).__name__})")
                if rendered is None:
                    return self._drop(message_id, attempts)
                if isinstance(rendered, Upload):
                    upload = rendered
                else:
                    text, blocks = rendered
            # An earlier try whose answer never came may have posted it: look before posting again. Only a
            # DM can be looked in (the bot reads no channel's history); a file carries no metadata.
            look = message.sending_at is not None and upload is None and recipient[:1] in ("U", "W")
            message.sending_at = self._clock.now()  # recorded before Slack can have it
            session.commit()
        doubt = look  # an earlier try may have posted it, and nobody has looked yet
        try:
            gateway = self._gateway_for(team_id)
            posted = gateway.find_posted(recipient, key) if look else None
            doubt = False
            if posted is not None:
                log.info("found_sent", extra={"outbox_id": message_id})
            elif upload:
                posted = gateway.upload(upload)
            else:
                posted = gateway.post(recipient, text, blocks, metadata=outbox_metadata(key))
        except LookupThrottled as exc:  # a wait, like a post's 429, that uses up none of its tries
            until = self._clock.now() + timedelta(seconds=exc.retry_after)
            return self._try_later(message_id, attempts, exc.error, until, settled=False)
        except RateLimited as exc:
            self.pacer.posted(team_id, recipient)
            return self._wait_for_slack(message_id, team_id, attempts, exc, settled=not doubt)
        except SlackUnavailable as exc:  # a timeout or a dropped connection: it may have been posted
            return self._retry(message_id, attempts, exc.error, _backoff(attempts), settled=False)
        except RecipientGone as exc:
            return self._give_up(message_id, attempts, exc.error)
        except SlackFailure as exc:
            return self._retry(message_id, attempts, exc.error, _backoff(attempts), settled=not doubt)
        self.pacer.posted(team_id, recipient)
        with self._sessions.begin() as session:
            message = queries.get_outbox(session, message_id)
            assert message is not None
            message.state = "sent"
            message.attempts = attempts + 1
            message.sent_at = self._clock.now()
            message.sent_channel = posted.channel
            message.sent_ts = posted.ts
            message.lease_until = None
            message.sending_at = None
        log.info("delivered", extra={"outbox_id": message_id, "kind": message.kind})
        return "sent"

    def _retry(self, message_id: int, attempts: int, error: str, wait: timedelta, *, settled: bool) -> str:
        """`settled`: Slack answered that it did not post it, so the next try need not look for it first."""
        if attempts + 1 >= self._max_attempts:
            return self._give_up(message_id, attempts, f"gave up after {attempts + 1} tries: {error}")
        return self._try_later(message_id, attempts + 1, error, self._clock.now() + wait, settled=settled)

    def _wait_for_slack(
        self, message_id: int, team_id: str, attempts: int, limited: RateLimited, *, settled: bool
    ) -> str:
        """A 429 is Slack asking us to wait, not a failure: the message keeps every try it has left (so
        nothing is lost to throttling), and its whole workspace waits with it until Retry-After has passed."""
        until = self._clock.now() + timedelta(seconds=limited.retry_after)
        self.pacer.hold(team_id, until)
        error = f"{limited.error} (Retry-After {limited.retry_after:g} s)"
        return self._try_later(message_id, attempts, error, until, settled=settled)

    def _try_later(self, message_id: int, attempts: int, error: str, at: datetime, *, settled: bool) -> str:
        with self._sessions.begin() as session:
            message = queries.get_outbox(session, message_id)
            assert message is not None
            message.attempts = attempts
            message.last_error = error[:255]
            message.not_before = at
            message.lease_until = None
            if settled:
                message.sending_at = None
        log.warning("delivery_retry", extra={"outbox_id": message_id, "error": error})
        return "retrying"

    def _give_up(self, message_id: int, attempts: int, error: str) -> str:
        """Record why, and tell whoever answers for the actions it was about (or for the clinic whose wins, or
        the one-to-ones whose agenda, it was), once, in one notice each: a person may never hear otherwise."""
        now = self._clock.now()
        with self._sessions.begin() as session:
            message = self._close(session, message_id, attempts, "failed", error)
            told: dict[str, list[Action]] = defaultdict(list)
            about = message.action_ids if message.kind not in ("delivery_failed", "wins_failed") else []
            for action in filter(None, (queries.get_action(session, message.team_id, i) for i in about)):
                if (person := _answers_for(action, message.recipient)) is not None:
                    told[person].append(action)
            for person, actions in told.items():
                notice = views.delivery_failed(actions, message.recipient, error)
                first, *others = actions
                unique = ":".join([message.recipient, error, *(str(action.id) for action in others)])
                tell(session, first, "delivery_failed", person, notice, now, unique=unique, also=others)
            if message.kind in ("wins", "wins_failed"):
                tell_wins_refused(session, message, error, now)
            if message.kind == "one_on_one":
                tell_agenda_refused(session, message, error, now)
        log.error("delivery_failed", extra={"outbox_id": message_id, "error": error})
        return "failed"

    def _drop(self, message_id: int, attempts: int) -> str:
        """A decided message with nothing left to say (say, every item closed since): not sent, on purpose."""
        with self._sessions.begin() as session:
            self._close(session, message_id, attempts, "dropped", "nothing left to say when it was due")
        return "dropped"

    @staticmethod
    def _close(session: Session, message_id: int, attempts: int, state: str, error: str) -> OutboxMessage:
        message = queries.get_outbox(session, message_id)
        assert message is not None
        message.state = state
        message.attempts = attempts + 1
        message.last_error = error[:255]
        message.lease_until = None
        message.sending_at = None
        return message

    def owed(self) -> list[OutboxMessage]:
        with self._sessions() as session:
            return list(queries.owed_messages(session, self._clock.now()))

    # --- in the background, right after a request -----------------------------------------------

    def kick(self) -> None:
        """Deliver what a request just queued, soon, without holding up the request."""
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._stopping.clear()
                thread = threading.Thread(target=self._loop, name="delivery", daemon=True)
                thread.start()
                self._thread = thread
        self._wake.set()

    def _loop(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(timeout=5)
            self._wake.clear()
            if self._stopping.is_set():
                break
            try:
                self.deliver_due()
            except Exception:
                log.exception("delivery_loop_error")

    def stop(self) -> None:
        """Stop the background worker: it finishes the message in hand and claims no more. A later
        explicit `deliver_due` (a pass, a tick) still works. A request's kick meanwhile waits for it."""
        with self._lock:
            self._stopping.set()
            self._wake.set()
            if self._thread is not None:
                self._thread.join(timeout=10)
                self._thread = None
            self._stopping.clear()


def _backoff(attempts: int) -> timedelta:
    base = min(MAX_BACKOFF.total_seconds(), 5 * 2**attempts)
    return timedelta(seconds=base * random.uniform(0.8, 1.2))


def _answers_for(action: Action, unreachable: str) -> str | None:
    """Whom to tell that a message about an action went nowhere: its lead, else whoever assigned it, else
    the clinic's sponsor (when the lead, who may also have assigned it, is the one who cannot be reached)."""
    sponsor = action.clinic.sponsor_id if action.clinic is not None else None
    return next((p for p in (lead_of(action), action.assigner_id, sponsor) if p and p != unreachable), None)
