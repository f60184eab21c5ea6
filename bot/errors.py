"""Errors the user caused. Each carries a complete, friendly sentence to show them, and which field it is about."""

from __future__ import annotations


class UserError(Exception):
    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotAllowed(UserError):
    """The user may not do this; nothing was changed."""


class NotFound(UserError):
    """What the user named does not exist (or is not theirs to see)."""


def too_long(what: str, text: str, limit: int) -> str:
    """Why a reply in a thread was not kept: it is longer than what it would become may hold."""
    return (
        f"That {what} is {len(text):,} characters long, and a {what} holds at most {limit:,}. "
        "I didn't keep it: say it in shorter replies."
    )
