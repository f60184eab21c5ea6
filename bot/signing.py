"""Is this request from Slack? Checked before any work, for every request that arrives over HTTP (Socket
Mode traffic comes over the app's own authenticated connection and carries no signature).

Bolt's own check is switched off in favour of this one because it answers a non-numeric timestamp with a
500, logs a refused request's whole body, and knows only one secret; during a signing-secret rotation both
the new and the previous secret must be accepted."""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections.abc import Callable, Sequence

from slack_bolt import BoltRequest, BoltResponse
from slack_bolt.middleware import Middleware

log = logging.getLogger("clinic_bot.signing")

TOLERANCE_SECONDS = 300


def signature(secret: str, timestamp: str, body: str) -> str:
    return "v0=" + hmac.new(secret.encode(), f"v0:{timestamp}:{body}".encode(), hashlib.sha256).hexdigest()


class RequestSignatures(Middleware):
    """Bolt middleware, placed before authorization (`before_authorize`) so that nothing of a refused
    request is read beyond its headers and raw body."""

    def __init__(self, secrets: Sequence[str], now: Callable[[], float] = time.time) -> None:
        self._secrets = [s for s in secrets if s]
        self._now = now

    def refusal(self, body: str, timestamp: str | None, given: str | None) -> str | None:
        """Why the request must be refused, or None when it is signed by Slack within five minutes."""
        if not timestamp or not given:
            return "unsigned"
        if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
            return "malformed_timestamp"
        if abs(self._now() - int(timestamp)) > TOLERANCE_SECONDS:
            return "stale_timestamp"
        if not any(hmac.compare_digest(signature(s, timestamp, body), given) for s in self._secrets):
            return "bad_signature"
        return None

    def process(
        self,
        *,
        req: BoltRequest,
        resp: BoltResponse,
        next: Callable[[], BoltResponse],
    ) -> BoltResponse:
        if req.mode == "socket_mode":
            return next()
        reason = self.refusal(
            req.raw_body,
            req.headers.get("x-slack-request-timestamp", [None])[0],
            req.headers.get("x-slack-signature", [None])[0],
        )
        if reason is not None:
            log.warning("request_refused", extra={"reason": reason})  # one line; never the body
            return BoltResponse(status=401, body="")
        return next()
