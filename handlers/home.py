"""The App Home tab: published when someone opens it, after each change of theirs, and page by page."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from bot.services import Services
from bot.status import StatusQuery
from bot.views import actions as action_views
from bot.views import ids
from handlers.payloads import clicked, page_clicked
from handlers.replies import OPEN_VIEW, make_follow_up, publish_home, team_of


def register(app: App, services: Services) -> None:
    def opened(ack: Ack) -> None:
        ack()

    def show(event: dict[str, Any], body: dict[str, Any], context: BoltContext, client: WebClient) -> None:
        if event.get("tab") == "home":
            publish_home(services, client, team_of(context, body), event["user"])

    def turn_page(ack: Ack) -> None:
        ack()

    def show_page(body: dict[str, Any], context: BoltContext, client: WebClient) -> None:
        page = page_clicked(body)
        publish_home(services, client, team_of(context, body), body["user"]["id"], page)

    def clinic_status(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
        ack()
        team_id, user_id = team_of(context, body), body["user"]["id"]
        report = services.status.report(StatusQuery(team_id, user_id, "clinic_id", str(clicked(body))))
        reader = services.people.cached_person(team_id, user_id)
        context[OPEN_VIEW] = action_views.status_modal(report, reader, services.clock.now())

    app.event("app_home_opened")(ack=opened, lazy=[show])
    for turn in (ids.HOME_PAGE, ids.HOME_BACK):
        app.action(turn)(ack=turn_page, lazy=[show_page])
    app.action(ids.HOME_CLINIC_STATUS)(ack=clinic_status, lazy=[make_follow_up(services)])
