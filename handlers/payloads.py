"""Reading the parts of Slack's interaction payloads that our listeners need, defensively: a stale
button, a modal with missing state or odd metadata gets a clear answer, never a crash."""

from __future__ import annotations

import json
from typing import Any

from bot.errors import UserError


def clicked(body: dict[str, Any]) -> int:
    try:
        return int(body["actions"][0]["value"])
    except (KeyError, IndexError, ValueError, TypeError):
        raise UserError("That button is out of date; run `/clinic status` for a fresh one.") from None


def metadata_action_id(view: dict[str, Any]) -> int:
    """The action a modal is about, from its private metadata (0 when it carries none: not found)."""
    value = metadata(view).get("action_id", 0)
    return value if isinstance(value, int) else 0


def metadata(view: dict[str, Any]) -> dict[str, Any]:
    try:
        data = json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def state_value(view: dict[str, Any], block_id: str) -> dict[str, Any]:
    return ((view.get("state") or {}).get("values") or {}).get(block_id, {}).get(block_id) or {}
