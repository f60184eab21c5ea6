"""Reading the parts of Slack's interaction payloads that our listeners need, defensively: a stale
button, a modal with missing state or odd metadata gets a clear answer, never a crash."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from bot.errors import UserError

MAX_ID = 2**31 - 1  # row ids are 32-bit integers on PostgreSQL; anything else names nothing


def clicked(body: dict[str, Any]) -> int:
    try:
        value = int(body["actions"][0]["value"])
    except (KeyError, IndexError, ValueError, TypeError):
        value = 0
    if not 0 < value <= MAX_ID:
        raise UserError("That button is out of date; run `/clinic status` for a fresh one.")
    return value


def page_clicked(body: dict[str, Any]) -> int:
    """The Home tab page a "Show more" button asks for (the first when it cannot be read)."""
    try:
        return max(0, min(int(body["actions"][0].get("value") or 0), 1000))
    except (KeyError, IndexError, ValueError, TypeError, AttributeError):
        return 0


def home_page(body: dict[str, Any]) -> int:
    """The page of the Home tab a button was pressed on, or that the submitted modal was opened from (the first
    when the press or the modal came from elsewhere)."""
    view = body.get("view")
    if not isinstance(view, dict) or view.get("type") not in ("home", "modal"):
        return 0
    page = metadata(view).get("page" if view["type"] == "home" else "home_page", 0)
    return page if isinstance(page, int) and not isinstance(page, bool) and 0 <= page <= 1000 else 0


def metadata_action_id(view: dict[str, Any]) -> int:
    """The action a modal is about, from its private metadata (0 when it carries none: not found)."""
    value = metadata(view).get("action_id", 0)
    return value if isinstance(value, int) and 0 < value <= MAX_ID else 0


def metadata(view: dict[str, Any]) -> dict[str, Any]:
    try:
        data = json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def state_value(view: dict[str, Any], block_id: str) -> dict[str, Any]:
    """The state of one input (our inputs' action id equals their block id); {} when it is not there."""
    values = (view.get("state") or {}).get("values") if isinstance(view.get("state"), dict) else None
    block = values.get(block_id) if isinstance(values, dict) else None
    element = block.get(block_id) if isinstance(block, dict) else None
    return element if isinstance(element, dict) else {}


def _string(value: Any) -> str:
    return value if isinstance(value, str) else ""


def typed(view: dict[str, Any], block_id: str) -> str:
    """What was typed in a text input ("" when nothing was, or something else arrived)."""
    return _string(state_value(view, block_id).get("value"))


def picked_user(view: dict[str, Any], block_id: str) -> str | None:
    return _string(state_value(view, block_id).get("selected_user")) or None


def picked_conversation(view: dict[str, Any], block_id: str) -> str | None:
    return _string(state_value(view, block_id).get("selected_conversation")) or None


def picked_option(view: dict[str, Any], block_id: str) -> str:
    option = state_value(view, block_id).get("selected_option")
    return _string(option.get("value")) if isinstance(option, dict) else ""


def picked_date(view: dict[str, Any], block_id: str, missing: str) -> date:
    """The date picked in a datepicker; a UserError on the "due" field when there is none or it is not a
    calendar date."""
    text = _string(state_value(view, block_id).get("selected_date"))
    if not text:
        raise UserError(missing, field="due")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UserError("Pick the date from the calendar.", field="due") from None
