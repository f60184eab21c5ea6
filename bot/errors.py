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
