"""The clinic method's forms: editing focus areas (`/clinic edit`), adding and editing indicators from that
form, and reporting a reading from a "time to report" DM."""

from __future__ import annotations

from datetime import date
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from bot.clinics import Area, Roles
from bot.errors import UserError
from bot.reporting import IndicatorForm
from bot.services import Services
from bot.views import actions as action_views
from bot.views import ids
from bot.views import indicators as views
from handlers.payloads import (
    MAX_ID,
    clicked,
    metadata,
    picked_conversation,
    picked_option,
    picked_user,
    state_value,
    typed,
)
from handlers.replies import OPEN_VIEW, REPLY, changed, learn_caller, make_follow_up, person_in_form, team_of

PUSH_VIEW = "clinic_push_view"  # a form to open on top of the modal whose button was pressed
REFRESH = "clinic_refresh_edit"  # {"view_id", "clinic_id"}: show the edit form again with what changed
INDICATOR_FIELDS = {
    "name": ids.INDICATOR_NAME,
    "kind": ids.INDICATOR_KIND,
    "unit": ids.INDICATOR_UNIT,
    "direction": ids.INDICATOR_DIRECTION,
    "baseline": ids.INDICATOR_BASELINE,
    "baseline_date": ids.INDICATOR_BASELINE_DATE,
    "target": ids.INDICATOR_TARGET,
    "target_date": ids.INDICATOR_TARGET_DATE,
    "reporter": ids.INDICATOR_REPORTER,
    "cadence": ids.INDICATOR_CADENCE,
}


def register(app: App, services: Services) -> None:
    follow_up = make_follow_up(services)

    def today_of(team_id: str, user_id: str) -> date:
        return services.people.cached_person(team_id, user_id).local(services.clock.now()).date()

    def roles_in(view: dict[str, Any], client: WebClient, team_id: str) -> Roles | None:
        """The lead, sponsor and channel picked in the edit form, with those it showed when it opened (None
        from a form opened before it had them); the people usually known already, looked up when the form
        opened or when picked."""
        shown = metadata(view).get("shown")
        in_form = ids.CLINIC_LEAD in ((view.get("state") or {}).get("values") or {})
        if not (in_form and isinstance(shown, list) and len(shown) == 3):
            return None
        lead_id, sponsor_id = picked_user(view, ids.CLINIC_LEAD), picked_user(view, ids.CLINIC_SPONSOR)
        if not lead_id:
            raise UserError("Pick the clinic's lead.", field="lead")
        again = "press Save again"
        lead = person_in_form(services, client, team_id, lead_id, "lead", again, timeout=1)
        sponsor = (
            person_in_form(services, client, team_id, sponsor_id, "sponsor", again, timeout=1) if sponsor_id else None
        )
        was = tuple(value if isinstance(value, str) else None for value in shown)
        return Roles(lead, sponsor, picked_conversation(view, ids.CLINIC_CHANNEL), was)  # type: ignore[arg-type]

    def submit_edit(
        ack: Ack, body: dict[str, Any], view: dict[str, Any], context: BoltContext, client: WebClient
    ) -> None:
        team_id = team_of(context, body)
        slots = [
            Area(typed(view, ids.CLINIC_FOCUS[i]), typed(view, ids.FOCUS_OUTCOME[i]), typed(view, ids.FOCUS_WHY[i]))
            for i in range(len(ids.CLINIC_FOCUS))
        ]
        try:
            clinic_id = _id(metadata(view).get("clinic_id"))
            concerned = services.clinics.edit(team_id, clinic_id, _user(body), slots, roles_in(view, client, team_id))
        except UserError as exc:
            ack(response_action="errors", errors={field_block(exc.field): exc.message})
            return
        ack()
        changed(context, *concerned)  # their Home tabs gain or lose the clinic's card

    def press_indicator(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
        """Add or Edit in the edit form: the indicator form opens on top of it."""
        ack()
        team_id, user_id = team_of(context, body), _user(body)
        parent = (body.get("view") or {}).get("id")
        try:
            if body["actions"][0]["action_id"] == ids.ADD_INDICATOR:
                _clinic, area_id, area_name = services.indicators.area_for_leader(team_id, clicked(body), user_id)
                form = views.indicator_modal(area_id, area_name, None, today_of(team_id, user_id), parent)
            else:
                indicator = services.indicators.get_for_leader(team_id, clicked(body), user_id)
                form = views.indicator_modal(
                    indicator.focus_area_id, indicator.focus_area.name, indicator, today_of(team_id, user_id), parent
                )
        except UserError as exc:
            form = action_views.notice_modal("Clinic Bot", exc.message)
        context[PUSH_VIEW] = form

    def submit_indicator(
        ack: Ack, body: dict[str, Any], view: dict[str, Any], context: BoltContext, client: WebClient
    ) -> None:
        team_id, user_id = team_of(context, body), _user(body)
        data = metadata(view)
        try:
            form = IndicatorForm(
                name=typed(view, ids.INDICATOR_NAME),
                kind=picked_option(view, ids.INDICATOR_KIND),
                unit=typed(view, ids.INDICATOR_UNIT),
                direction=picked_option(view, ids.INDICATOR_DIRECTION),
                baseline=typed(view, ids.INDICATOR_BASELINE),
                baseline_date=_picked_day(view, ids.INDICATOR_BASELINE_DATE, "baseline_date"),
                target=typed(view, ids.INDICATOR_TARGET),
                target_date=_picked_day(view, ids.INDICATOR_TARGET_DATE, "target_date"),
                reporter_id=picked_user(view, ids.INDICATOR_REPORTER),
                cadence=picked_option(view, ids.INDICATOR_CADENCE),
            )
            reporter = None
            if form.reporter_id:
                reporter = person_in_form(services, client, team_id, form.reporter_id, "reporter", "save again")
            indicator = services.indicators.save(
                team_id,
                user_id,
                _id(data.get("area_id")),
                form,
                reporter,
                indicator_id=_id(data.get("indicator_id")) or None,
                today=today_of(team_id, user_id),
            )
        except UserError as exc:
            block = INDICATOR_FIELDS.get(exc.field or "", ids.INDICATOR_NAME)
            ack(response_action="errors", errors={block: exc.message})
            return
        ack()
        if isinstance(data.get("parent"), str):
            context[REFRESH] = {"view_id": data["parent"], "clinic_id": indicator.clinic_id}

    def press_report(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
        ack()
        team_id, user_id = team_of(context, body), _user(body)
        indicator, latest = services.indicators.reportable(team_id, clicked(body), user_id)
        context[OPEN_VIEW] = views.report_modal(indicator, latest, today_of(team_id, user_id))

    def submit_reading(ack: Ack, body: dict[str, Any], view: dict[str, Any], context: BoltContext) -> None:
        team_id, user_id = team_of(context, body), _user(body)
        reader = services.people.cached_person(team_id, user_id)
        try:
            day = _picked_day(view, ids.READING_DATE, "day")
            if day is None:
                raise UserError("Pick the day it was measured.", field="day")
            recorded = services.indicators.record(
                team_id,
                user_id,
                _id(metadata(view).get("indicator_id")),
                typed(view, ids.READING_VALUE),
                actor_tz=reader.tz,
                day=day,
            )
        except UserError as exc:
            block = ids.READING_DATE if exc.field == "day" else ids.READING_VALUE
            ack(response_action="errors", errors={block: exc.message})
            return
        ack(response_action="update", view=views.recorded_modal(recorded, reader.local(services.clock.now()).date()))

    def push_or_refresh(context: BoltContext, body: dict[str, Any], client: WebClient) -> None:
        """After the ack: open the pushed form, or show the edit form again with the indicator saved. A press
        that failed (the database unreachable) left Bolt's error reply instead: it goes on top of the form."""
        if form := context.get(PUSH_VIEW):
            client.views_push(trigger_id=body["trigger_id"], view=form)
        elif reply := context.get(REPLY):
            client.views_push(
                trigger_id=body["trigger_id"], view=action_views.notice_modal("Clinic Bot", reply["text"])
            )
        if refresh := context.get(REFRESH):
            team_id = team_of(context, body)
            clinic = services.clinics.by_id(team_id, refresh["clinic_id"])
            if clinic is not None:
                indicators = services.indicators.of_clinic(team_id, clinic.id)
                client.views_update(view_id=refresh["view_id"], view=views.edit_clinic_modal(clinic, indicators))

    app.view(ids.EDIT_CLINIC_MODAL)(ack=submit_edit, lazy=[follow_up])
    for button in (ids.ADD_INDICATOR, ids.EDIT_INDICATOR):
        app.action(button)(ack=press_indicator, lazy=[push_or_refresh])
    app.view(ids.INDICATOR_MODAL)(ack=submit_indicator, lazy=[push_or_refresh])
    app.action(ids.REPORT_READING)(ack=press_report, lazy=[follow_up, learn_caller(services)])
    app.view(ids.REPORT_MODAL)(ack=submit_reading, lazy=[follow_up])


def field_block(field: str | None) -> str:
    """The block of a clinic form's field error: "name", "lead", "sponsor", or a focus area's ("focus:3",
    "outcome:2", "why:1"; a fifth area: the last)."""
    if block := {"name": ids.CLINIC_NAME, "lead": ids.CLINIC_LEAD, "sponsor": ids.CLINIC_SPONSOR}.get(field or ""):
        return block
    what, _, slot = (field or "").partition(":")
    blocks = {"focus": ids.CLINIC_FOCUS, "outcome": ids.FOCUS_OUTCOME, "why": ids.FOCUS_WHY}.get(what, ids.CLINIC_FOCUS)
    index = min(max(int(slot) if slot.isdigit() else 1, 1), len(blocks)) - 1
    return blocks[index]


def _user(body: dict[str, Any]) -> str:
    return str((body.get("user") or {}).get("id") or "")


def _id(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID else 0


def _picked_day(view: dict[str, Any], block_id: str, field: str) -> date | None:
    text = state_value(view, block_id).get("selected_date")
    if not text:
        return None
    try:
        return date.fromisoformat(text) if isinstance(text, str) else _bad_day(field)
    except ValueError:
        return _bad_day(field)


def _bad_day(field: str) -> date:
    raise UserError("Pick the day from the calendar.", field=field)
