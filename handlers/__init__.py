"""Thin Bolt listeners, one module per surface; `register` wires them all onto an app."""

from __future__ import annotations

from slack_bolt import App

from bot.services import Services
from handlers import actions, clinics, commands, escalation, events, home, indicators, one_on_one
from handlers.replies import handle_error


def register(app: App, services: Services) -> None:
    app.error(handle_error)
    for surface in (commands, actions, escalation, one_on_one, clinics, indicators, events, home):
        surface.register(app, services)
