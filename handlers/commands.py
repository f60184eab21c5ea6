"""The `/clinic` slash command: parse the text, answer what the database alone can answer in the ack,
and leave anything that needs Slack (modals, looking up an owner) to the follow-up after the ack."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient
from sqlalchemy.exc import DBAPIError

from bot import commands
from bot.actions import NewAction, Status, parse_due
from bot.dates import describe_date
from bot.errors import UserError
from bot.services import Services
from bot.slack import RecipientGone, SlackFailure, SlackGateway
from bot.status import StatusQuery, page_value, paged
from bot.views import actions as action_views
from bot.views import clinics as clinic_views
from bot.views import digest as digest_views
from bot.views import ids
from bot.views import indicators as indicator_views
from bot.views.help import help_message
from bot.views.ids import COMMAND
from bot.views.one_on_one import agenda_message
from bot.views.text import esc, mention
from handlers.replies import (
    DELIVER,
    OPEN_VIEW,
    REPLY,
    TRY_AGAIN,
    changed,
    ephemeral,
    learn_caller,
    log,
    make_follow_up,
    team_of,
)

QUICK_ADD = "clinic_quick_add"
EXPORT = "clinic_export"
MEETS = "clinic_one_on_one_person"
EXPORT_REFUSED = {
    "missing_scope": "Slack won't let me open a DM to put the export in: this workspace was installed before that "
    "permission was asked for. Ask your Slack admin to reinstall Clinic Bot, then try again.",
}


def register(app: App, services: Services) -> None:
    def answer(ack: Ack, command: dict[str, Any], context: BoltContext) -> None:
        try:
            request = commands.parse(command.get("text", ""))
        except UserError as exc:
            ack(ephemeral(esc(exc.message)))
            return
        team_id, user_id = team_of(context, command), command["user_id"]
        match request:
            case commands.Help(unknown=unknown):
                ack(help_message(unknown))
            case commands.Status(kind=kind, target=target, share=share):
                message = status_answer(services, StatusQuery(team_id, user_id, kind, target), paged=not share)
                ack({**message, "response_type": "in_channel" if share else "ephemeral"})
            case commands.Done(action_id=action_id):
                action = services.actions.set_status(team_id, action_id, user_id, Status.DONE)
                ack(ephemeral(f":white_check_mark: Closed *#{action.id} {esc(action.title)}*. Thank you!"))
                changed(context, *services.home.readers(action))
            case commands.Cancel(action_id=action_id, reason=reason):
                action = services.actions.cancel(team_id, action_id, user_id, reason)
                told = "" if action.owner_id == user_id else f" {mention(action.owner_id)} has been told."
                ack(ephemeral(f":heavy_minus_sign: Cancelled *#{action.id} {esc(action.title)}*.{told}"))
                changed(context, *services.home.readers(action))
            case commands.Snooze(action_id=action_id, until_text=until_text):
                action, until = services.actions.snooze(team_id, action_id, user_id, until_text)
                reader = services.people.cached_person(team_id, user_id)
                ack(
                    ephemeral(
                        f":zzz: No reminders about *#{action.id} {esc(action.title)}* before "
                        f"{describe_date(until, reader.local(services.clock.now()).date())}."
                    )
                )
            case commands.Chase(clinic=clinic_name, settings=pairs):
                if pairs:
                    clinic, policy = services.chasing.change(team_id, clinic_name, user_id, pairs)
                else:
                    clinic, policy = services.chasing.show(team_id, clinic_name)
                ack(clinic_views.chase_settings(clinic, policy, changed=bool(pairs)))
            case commands.Wins(clinic=clinic_name, on=on):
                clinic = services.clinics.celebrate_wins(team_id, clinic_name, user_id, on)
                where = f" in <#{clinic.channel_id}>" if clinic.channel_id else ""
                ack(ephemeral(f"Wins of *{esc(clinic.name)}* {'will' if on else 'will not'} be celebrated{where}."))
            case commands.Digest(settings=None):
                reader = services.people.cached_person(team_id, user_id)
                digest = services.digests.preview(team_id, user_id, reader.tz)
                if digest is None:
                    ack(ephemeral("Digests go to clinic leads and sponsors, and you don't lead or sponsor a clinic."))
                else:
                    text, blocks = digest_views.digest_message(digest, reader.tz)
                    ack({**ephemeral(text), "blocks": blocks})
            case commands.Export() as asked:
                clinic, fmt = services.exports.allowed(team_id, asked, user_id)
                ack(ephemeral(f"Preparing the export of *{esc(clinic.name)}*: it will be in your DM with me shortly."))
                context[EXPORT] = {"clinic_id": clinic.id, "format": fmt}
            case commands.Digest(settings=text):
                pref = services.digests.change_preference(team_id, user_id, text or "")
                ack(ephemeral(digest_views.preference_message(pref, changed=bool(text))))
            case commands.OneOnOne(person_id=person_id, schedule=schedule) if schedule.lower() == "stop":
                if services.one_on_one_schedule.stop(team_id, user_id, person_id):
                    ack(
                        ephemeral(
                            f"Recurring one-to-ones with {mention(person_id)} stopped: no more agendas. "
                            "They have been told."
                        )
                    )
                    context[DELIVER] = True
                else:
                    ack(ephemeral(f"You have no recurring one-to-ones with {mention(person_id)}. Nothing was changed."))
            case commands.OneOnOne(person_id=person_id, schedule=schedule) if schedule:
                row, first, told = services.one_on_one_schedule.schedule(team_id, user_id, person_id, schedule)
                every = "week" if row.every_weeks == 1 else f"{row.every_weeks} weeks"
                ack(
                    ephemeral(
                        f"One-to-ones with {mention(person_id)} every {every}, from {first:%A} {first.day} {first:%B}. "
                        "The day before each, you both get your side of the agenda." + (" They have been told." * told)
                    )
                )
                context[MEETS], context[DELIVER] = person_id, told
            case commands.OneOnOne(person_id=person_id):
                agenda = services.one_on_one.agenda(team_id, user_id, person_id)
                reader = services.people.cached_person(team_id, user_id)
                ack(agenda_message(agenda, reader, services.clock.now()))
            case commands.Show(action_id=action_id):
                action, history = services.actions.history(team_id, action_id, user_id)
                reader = services.people.cached_person(team_id, user_id)
                blocks = action_views.detail_blocks(action, history, reader, services.clock.now())
                ack({**ephemeral(f"Action #{action.id}"), "blocks": action_views.render(blocks[:50])})
            case commands.EditClinic(clinic=clinic_name):
                clinic = services.clinics.for_leader(team_id, clinic_name, user_id)
                indicators = services.indicators.of_clinic(team_id, clinic.id)
                ack()
                context[OPEN_VIEW] = indicator_views.edit_clinic_modal(clinic, indicators)
            case commands.Metric(text=text):
                reader = services.people.cached_person(team_id, user_id)
                try:
                    recorded = services.indicators.report(team_id, user_id, reader.tz, text)
                except UserError as exc:
                    said = exc.message if "Nothing was" in exc.message else f"{exc.message} Nothing was stored."
                    ack(ephemeral(esc(said)))
                    return
                today = reader.local(services.clock.now()).date()
                ack(ephemeral(indicator_views.recorded_text(recorded, today)))
            case commands.NewClinic():
                ack()
                context[OPEN_VIEW] = clinic_views.new_clinic_modal(user_id, command.get("channel_id"))
            case commands.AddWithModal():
                ack()
                context[OPEN_VIEW] = action_views.add_action_modal(
                    services.clinics.list(team_id), channel=command.get("channel_id")
                )
            case commands.QuickAdd():
                ack()
                context[QUICK_ADD] = {
                    "owner_id": request.owner_id,
                    "title": request.title,
                    "due_text": request.due_text,
                }

    def quick_add(context: BoltContext, command: dict[str, Any], respond: Respond, client: WebClient) -> None:
        """Needs the owner's Slack profile (time zone, still active?), so it runs after the ack."""
        request = context.get(QUICK_ADD)
        if not request:
            return
        team_id = team_of(context, command)
        try:
            owner = services.people.lookup(SlackGateway(client), team_id, request["owner_id"])
            due = parse_due(request["due_text"], owner, services.clock.now())
            action = services.actions.create(
                NewAction(
                    team_id=team_id,
                    title=request["title"],
                    owner_id=owner.user_id,
                    assigner_id=command["user_id"],
                    due_date=due,
                ),
                owner,
            )
        except UserError as exc:
            respond(ephemeral(f"{esc(exc.message)}\nNothing was added."))
            return
        except SlackFailure as exc:
            if exc.error == "user_not_found":
                respond(ephemeral("I can't find that person in this workspace. Nothing was added."))
            else:
                respond(
                    ephemeral(
                        "Slack didn't answer when I looked up the owner. Nothing was added; try again in a minute."
                    )
                )
            return
        except DBAPIError as exc:  # after the ack, so Bolt's error handler cannot answer: say it here
            log.error("database_unavailable", extra={"error": type(exc).__name__})
            respond(ephemeral(TRY_AGAIN))
            return
        services.delivery.kick()
        reader = services.people.cached_person(team_id, command["user_id"])
        respond(
            ephemeral(
                f"Assigned *#{action.id} {esc(action.title)}* to {mention(action.owner_id)}, "
                f"{action_views.due_phrase(action, reader, services.clock.now())}. I've let them know."
            )
        )

    def export(context: BoltContext, command: dict[str, Any], respond: Respond, client: WebClient) -> None:
        """Written to a temporary folder as the rows arrive, then shared in the caller's DM."""
        request = context.get(EXPORT)
        if not request:
            return
        team_id, user_id = team_of(context, command), command["user_id"]
        try:
            with tempfile.TemporaryDirectory() as folder:
                path, exported = services.exports.write(team_id, request["clinic_id"], request["format"], Path(folder))
                SlackGateway(client).share_files(user_id, [path], f"The export you asked for: {exported.describe()}.")
        except RecipientGone as exc:  # nothing a retry mends: say who can
            log.error("export_refused", extra={"error": exc.error})
            respond(ephemeral(EXPORT_REFUSED.get(exc.error, f"Slack refused the export file ({esc(exc.error)}).")))
        except SlackFailure:
            respond(ephemeral("Slack didn't take the export file just now. Nothing was lost: try again shortly."))
        except DBAPIError:
            respond(ephemeral(TRY_AGAIN))

    def learn_person(context: BoltContext, command: dict[str, Any], client: WebClient) -> None:
        """Their agendas go out in their working hours and show dates in their time zone: learn it now."""
        if person_id := context.get(MEETS):
            try:
                services.people.lookup(SlackGateway(client), team_of(context, command), person_id)
            except SlackFailure as exc:  # their agendas follow the time zone last seen, or UTC, until then
                log.warning("one_on_one_person_lookup_failed", extra={"error": exc.error})

    follow_up, learn = make_follow_up(services), learn_caller(services)

    def after_ack(context: BoltContext, command: dict[str, Any], respond: Respond, client: WebClient) -> None:
        """One function, not three: Bolt copies the request and starts a thread for each."""
        follow_up(context, command, respond, client)
        quick_add(context, command, respond, client)
        export(context, command, respond, client)
        learn(context, command, client)
        learn_person(context, command, client)

    def answered_in_ack(command: dict[str, Any], context: BoltContext) -> bool:
        """Status and help for someone seen lately need nothing after the ack: such requests skip the
        follow-up, which spares Bolt copying the request and starting a thread on the busiest path."""
        try:
            request = commands.parse(command.get("text", ""))
        except UserError:
            return False
        caller = services.people.knows(team_of(context, command), command["user_id"])
        return caller and isinstance(request, (commands.Status, commands.Help))

    def turn_status_page(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
        """A page of a `/clinic status` answer, in its place, with what whoever pressed may see."""
        ack()
        query = paged(team_of(context, body), body["user"]["id"], body["actions"][0].get("value") or "")
        context[REPLY] = {**status_answer(services, query, paged=True), "replace_original": True}

    for turn in (ids.STATUS_PAGE, ids.STATUS_BACK):
        app.action(turn)(ack=turn_status_page, lazy=[follow_up])
    app.command(COMMAND, matchers=[answered_in_ack])(answer)
    app.command(COMMAND)(ack=answer, lazy=[after_ack])


def status_answer(services: Services, query: StatusQuery, *, paged: bool) -> dict[str, Any]:
    """The answer to `/clinic status` (one page of it), with buttons to the pages either side when `paged`
    (an answer only its asker sees: a shared one would page for everyone with one person's view)."""
    report = services.status.report(query)
    reader = services.people.cached_person(query.team_id, query.viewer_id)
    pages = (
        page_value(query, query.page - 1) if paged and query.page else None,
        page_value(query, query.page + 1) if paged and report.further else None,
    )
    return action_views.status_message(
        report.heading,
        report.actions,
        reader,
        services.clock.now(),
        more=report.more,
        summaries=[(s.clinic, s.open, s.overdue, s.blocked) for s in report.clinics],
        first=report.first,
        pages=pages,
    )
