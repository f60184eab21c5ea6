"""Celebrating done actions in the clinic's channel: every win of the same hour in one post, sent when
that hour is over, naming the owners so the team can thank them."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from bot.views import wins as views
from storage import queries
from storage.models import Action, OutboxMessage

WINDOW = timedelta(hours=1)


def queue_win(session: Session, action: Action, now: datetime) -> None:
    """Make sure this hour's celebration post for the action's clinic is queued (once per hour)."""
    clinic = action.clinic
    if clinic is None or not clinic.channel_id or not clinic.celebrate_wins:
        return
    start = now.replace(minute=0, second=0, microsecond=0)
    queries.enqueue(
        session,
        team_id=action.team_id,
        dedupe_key=f"wins:{clinic.id}:{start.isoformat()}",
        kind="wins",
        recipient=clinic.channel_id,
        action_id=None,
        text="",
        blocks=[],
        payload={"clinic_id": clinic.id, "from": start.isoformat(), "to": (start + WINDOW).isoformat()},
        created_at=now,
        not_before=start + WINDOW,
    )


def render_wins(session: Session, message: OutboxMessage) -> tuple[str, list[dict[str, Any]]] | None:
    payload = message.payload or {}
    clinic = queries.get_clinic(session, message.team_id, payload["clinic_id"])
    if clinic is None or not clinic.celebrate_wins or clinic.channel_id != message.recipient:
        return None  # turned off, or the clinic reports to another channel, since it was queued
    done = queries.done_in_clinic(
        session,
        message.team_id,
        clinic.id,
        datetime.fromisoformat(payload["from"]),
        datetime.fromisoformat(payload["to"]),
    )
    return views.wins_message(clinic, done) if done else None


def tell_wins_refused(session: Session, message: OutboxMessage, error: str, now: datetime) -> None:
    """A celebration the channel refused for good: its clinic's lead is told, once for that channel and
    reason (not every hour), since nobody else would notice the posts stopped. When that notice cannot
    reach the lead either (they left), the clinic's sponsor is told instead."""
    payload = message.payload or {}
    clinic = queries.get_clinic(session, message.team_id, payload.get("clinic_id", 0))
    if clinic is None:
        return
    if message.kind == "wins":
        recipient, channel, error, lead_unreachable = clinic.lead_id, message.recipient, error, False
    elif clinic.sponsor_id and clinic.sponsor_id != clinic.lead_id:  # the notice to the lead failed
        recipient, channel, error, lead_unreachable = clinic.sponsor_id, payload["channel"], payload["error"], True
    else:
        return
    notice = views.wins_undeliverable(clinic, channel, error, lead_unreachable)
    key = f"wins_failed:{clinic.id}:{channel}:{recipient}:{error[:100]}"
    about = {"clinic_id": clinic.id, "channel": channel, "error": error}
    queries.notify(session, message.team_id, key, "wins_failed", recipient, notice, now, payload=about)
