"""Structured logs: one JSON object a line, an event name plus fields. Never tokens, never user text."""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}
# PostgreSQL's DETAIL line quotes the row or key it refused ("Failing row contains (...)"): what people typed.
_DETAIL = re.compile(r"^DETAIL: .*$", re.MULTILINE)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "at": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        entry.update({k: v for k, v in record.__dict__.items() if k not in _STANDARD})
        if record.exc_info:
            entry["traceback"] = _DETAIL.sub(
                "DETAIL: (left out: it quotes stored values)", self.formatException(record.exc_info)
            )
        return json.dumps(entry, default=str)


def configure(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Bolt and slack_sdk log request bodies at DEBUG (and a bad signature's body at INFO).
    for noisy in ("slack_bolt", "slack_sdk", "clinic_bot.bolt"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
    for chatty in ("apscheduler", "matplotlib", "PIL"):
        logging.getLogger(chatty).setLevel(logging.WARNING)
