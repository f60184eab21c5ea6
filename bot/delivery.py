"""Delivering the outbox: claim due messages under a lease, send them, record what Slack said.

Retries are ours, not slack_sdk's: a rate limit waits for Retry-After, an outage backs off with
jitter, and a permanent failure (a deactivated user, a missing channel) is recorded, not retried."""

from __future__ import annotations

import logging
import random
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from bot.actions import lead_of, tell
from bot.clock import Clock
from bot.slack import RateLimited, RecipientGone, SlackFailure, SlackGateway, SlackUnavailable
from bot.views import actions as views
from storage import queries
from storage.db import SessionFactory
from storage.models import OutboxMessage

log = logging.getLogger("clinic_bot.delivery")


@dataclass(frozen=True)
class Upload:
    """A rendered message that is a file, posted into a conversation (under a message, if `thread_ts`)."""

    content: bytes
    filename: str
    title: str
    channel: str
    thread_ts: str | None = None


Renderer = Callable[[Session, OutboxMessage], "tuple[str, list[dict[str, Any]]] | Upload | None"]

LEASE = timedelta(seconds=60)
BATCH = 20
MAX_BACKOFF = timedelta(minutes=15)


@dataclass
class DeliveryReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0

    def add(self, other: DeliveryReport) -> None:
        self.sent += other.sent
        self.retrying += other.retrying
        self.failed += other.failed


class Delivery:
    def __init__(
        self,
        session_factory: SessionFactory,
        clock: Clock,
        gateway_for: Callable[[str], SlackGateway],
        renderers: dict[str, Renderer],
        *,
        max_attempts: int = 8,
    ) -> None:
        """`renderers` turn a decided message (one with a payload), by kind, into what is said as things
        stand when it is sent; a renderer answering None means there is nothing left to say."""
        self._sessions = session_factory
        self._clock = clock
        self._gateway_for = gateway_for
        self._renderers = renderers
        self._max_attempts = max_attempts
        self.worker_id = uuid.uuid4().hex[:12]
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._draining = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    # --- one pass -----------------------------------------------------------------------------

    def deliver_due(self) -> DeliveryReport:
        """Send everything due now, batch by batch, until nothing due is left unclaimed."""
        report = DeliveryReport()
        while not (self._stopping.is_set() or self._draining.is_set()):
            batch = self._deliver_batch()
            report.add(batch)
            if batch.sent + batch.retrying + batch.failed == 0:
                break
        return report

    def _deliver_batch(self) -> DeliveryReport:
        now = self._clock.now()
        # Each claim has its own name: the background worker and a pass share this object (and, on a
        # simulated clock, the instant), and must never both believe they hold the same message.
        claim = f"{self.worker_id}-{uuid.uuid4().hex[:12]}"
        with self._sessions.begin() as session:
            ids = queries.claim_due(session, now, now + LEASE, claim, limit=BATCH)
        report = DeliveryReport()
        for n, message_id in enumerate(ids):
            if self._draining.is_set():
                with self._sessions.begin() as session:
                    queries.release_claims(session, ids[n:], claim)
                break
            outcome = self._deliver_one(message_id)
            setattr(report, outcome, getattr(report, outcome) + 1)
        return report

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
            team_id, recipient = message.team_id, message.recipient
            text, blocks, attempts = message.text, message.blocks, message.attempts
            upload = None
            if message.payload is not None:
                try:
                    rendered = self._renderers[message.kind](session, message)
                except SlackFailure as exc:  # the renderer waits on something still to be delivered
                    return self._retry(message_id, attempts, exc.error, _backoff(attempts))
                if rendered is None:
                    return self._drop(message_id, attempts)
                if isinstance(rendered, Upload):
                    upload = rendered
                else:
                    text, blocks = rendered
        try:
            gateway = self._gateway_for(team_id)
            posted = gateway.upload(upload) if upload else gateway.post(recipient, text, blocks)
        except RateLimited as exc:
            return self._retry(message_id, attempts, "ratelimited", timedelta(seconds=exc.retry_after))
        except SlackUnavailable as exc:
            return self._retry(message_id, attempts, exc.error, _backoff(attempts))
        except RecipientGone as exc:
            return self._give_up(message_id, attempts, exc.error)
        except SlackFailure as exc:
            return self._retry(message_id, attempts, exc.error, _backoff(attempts))
        with self._sessions.begin() as session:
            message = queries.get_outbox(session, message_id)
            assert message is not None
            message.state = "sent"
            message.attempts = attempts + 1
            message.sent_at = self._clock.now()
            message.sent_channel = posted.channel
            message.sent_ts = posted.ts
            message.lease_until = None
        log.info("delivered", extra={"outbox_id": message_id, "kind": message.kind})
        return "sent"

    def _retry(self, message_id: int, attempts: int, error: str, wait: timedelta) -> str:
        if attempts + 1 >= self._max_attempts:
            return self._give_up(message_id, attempts, f"gave up after {attempts + 1} tries: {error}")
        with self._sessions.begin() as session:
            message = queries.get_outbox(session, message_id)
            assert message is not None
            message.attempts = attempts + 1
            message.last_error = error[:255]
            message.not_before = self._clock.now() + wait
            message.lease_until = None
        log.warning("delivery_retry", extra={"outbox_id": message_id, "error": error})
        return "retrying"

    def _give_up(self, message_id: int, attempts: int, error: str) -> str:
        """Record why, and tell whoever answers for the action, once: a person may never hear otherwise."""
        now = self._clock.now()
        with self._sessions.begin() as session:
            message = self._close(session, message_id, attempts, "failed", error)
            action = queries.get_action(session, message.team_id, message.action_id) if message.action_id else None
            if action is not None and message.kind != "delivery_failed":
                told = next((p for p in (lead_of(action), action.assigner_id) if p != message.recipient), None)
                if told is not None:
                    notice = views.delivery_failed(action, message.recipient, error)
                    tell(
                        session,
                        action,
                        "delivery_failed",
                        told,
                        notice,
                        now,
                        unique=f"{message.recipient}:{error}",
                    )
        log.error("delivery_failed", extra={"outbox_id": message_id, "error": error})
        return "failed"

    def _drop(self, message_id: int, attempts: int) -> str:
        """A decided message with nothing left to say (say, every item closed since): not sent, on purpose."""
        with self._sessions.begin() as session:
            self._close(session, message_id, attempts, "dropped", "nothing left to say when it was due")
        return "sent"

    @staticmethod
    def _close(session: Session, message_id: int, attempts: int, state: str, error: str) -> OutboxMessage:
        message = queries.get_outbox(session, message_id)
        assert message is not None
        message.state = state
        message.attempts = attempts + 1
        message.last_error = error[:255]
        message.lease_until = None
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
                self._thread = threading.Thread(target=self._loop, name="delivery", daemon=True)
                self._thread.start()
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
        explicit `deliver_due` (a pass, a tick) still works."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self._stopping.clear()


def _backoff(attempts: int) -> timedelta:
    base = min(MAX_BACKOFF.total_seconds(), 5 * 2**attempts)
    return timedelta(seconds=base * random.uniform(0.8, 1.2))
