"""Block Kit for actions: the owner's DM, status lists, the detail view with history, and the modals."""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DatePickerElement,
    DividerBlock,
    HeaderBlock,
    InputBlock,
    Option,
    OptionGroup,
    PlainTextInputElement,
    SectionBlock,
    StaticSelectElement,
    UserSelectElement,
)
from slack_sdk.models.views import View

from bot.dates import describe_date
from bot.people import Person
from bot.status import SHOWN
from bot.views import ids
from bot.views.text import clip, esc, md, mention, plain, quote
from storage.models import Action, ActionEvent, Clinic, ExtensionRequest

STATUS_WORDS = {
    "open": "open",
    "on_track": "on track",
    "blocked": "blocked",
    "done": "done",
    "cancelled": "cancelled",
}
STATUS_ICONS = {
    "open": ":white_circle:",
    "on_track": ":large_green_circle:",
    "blocked": ":red_circle:",
    "done": ":white_check_mark:",
    "cancelled": ":heavy_minus_sign:",
}


def render(blocks: Sequence[Block]) -> list[dict[str, Any]]:
    """Dicts for the Web API; `to_dict()` checks Slack's limits on every block."""
    return [block.to_dict() for block in blocks]


# --- pieces ---------------------------------------------------------------------------------------


def _named(action: Action) -> str:
    return f"*#{action.id} {esc(action.title)}*"


def due_phrase(action: Action, reader: Person, now: datetime) -> str:
    """When it is due, said in the reader's time zone."""
    today = reader.local(now).date()
    if action.closed_at is None and action.due_at < now:
        # Days as the reader's calendar counts them from the due date; on the day itself (a reader west of
        # the owner), when the deadline ended on the reader's clock.
        days = (today - action.due_date).days
        ended = reader.local(action.due_at)
        late = f"{days} day{'s' if days != 1 else ''} ago" if days > 0 else f"ended {ended:%H:%M} your time"
        return f"*overdue* (was due {describe_date(action.due_date, today)}, {late})"
    phrase = f"due {describe_date(action.due_date, today)}"
    local_due = reader.local(action.due_at)
    if (local_due.date(), local_due.hour) != (action.due_date, 23):
        # The deadline is the end of the owner's day; say when that is for this reader.
        phrase += f" (ends {local_due:%a %H:%M} your time)"
    return phrase


def action_line(action: Action, reader: Person, now: datetime, *, show_owner: bool = True) -> str:
    parts = [f"{STATUS_ICONS[action.status]} {_named(action)}"]
    facts = [due_phrase(action, reader, now)]
    if show_owner:
        facts.append(mention(action.owner_id))
    if action.status == "blocked" and action.blocked_reason:
        facts.append(f"blocked: _{quote(action.blocked_reason, 200)}_")
    elif action.status != "open":
        facts.append(STATUS_WORDS[action.status])
    where = clinic_phrase(action)
    if where:
        facts.append(where)
    if serves := outcome_phrase(action):
        facts.append(serves)
    return parts[0] + "\n" + " · ".join(facts)


def clinic_phrase(action: Action) -> str:
    if action.clinic is None:
        return ""
    if action.focus_area is not None:
        return f"{esc(action.clinic.name)} › {esc(action.focus_area.name)}"
    return esc(action.clinic.name)


def outcome_phrase(action: Action) -> str:
    """The outcome an action serves, when its focus area states one (the clinic method's golden thread)."""
    area = action.focus_area
    if area is None or not area.outcome:
        return ""
    return f"serves: _{quote(area.outcome, 150)}_"


def action_buttons(action: Action) -> ActionsBlock:
    return _ActionButtons(action.id)


def _buttons(value: str) -> ActionsBlock:
    return ActionsBlock(
        block_id=f"action:{value}",
        elements=[
            ButtonElement(text=plain("Done"), action_id=ids.ACTION_DONE, value=value, style="primary"),
            ButtonElement(text=plain("On track"), action_id=ids.ACTION_ON_TRACK, value=value),
            ButtonElement(text=plain("Blocked"), action_id=ids.ACTION_BLOCKED, value=value),
            ButtonElement(text=plain("Need more time"), action_id=ids.ACTION_MORE_TIME, value=value),
            ButtonElement(text=plain("History"), action_id=ids.ACTION_HISTORY, value=value),
        ],
    )


@functools.cache
def _buttons_checked() -> dict[str, Any]:
    """The buttons as Slack gets them, checked against Slack's limits once (with the longest id a row can
    have): only the id differs from one action to the next. Status lists hold a hundred of them."""
    return _buttons(str(2**31 - 1)).to_dict()


class _ActionButtons(ActionsBlock):
    def __init__(self, action_id: int) -> None:
        super().__init__(block_id=f"action:{action_id}", elements=[])
        self._value = str(action_id)

    def to_dict(self) -> dict[str, Any]:  # type: ignore[override]
        checked = _buttons_checked()
        return {
            **checked,
            "block_id": f"action:{self._value}",
            "elements": [{**button, "value": self._value} for button in checked["elements"]],
        }


class _Line(SectionBlock):
    """An action's line in a list: of Slack's limits on a section only the text's length can apply, so
    long lists skip checking the rest each time."""

    def __init__(self, text: str) -> None:
        super().__init__(text=md(text))
        self._text = text

    def to_dict(self) -> dict[str, Any]:  # type: ignore[override]
        if len(self._text) > SECTION_TEXT_LIMIT:
            return super().to_dict()  # refused, as any block beyond Slack's limits is
        return {"type": "section", "text": {"type": "mrkdwn", "text": self._text, "verbatim": True}}


SECTION_TEXT_LIMIT = 3000
# A status message holds at most: the header, these clinics and a line for the rest, a divider, the actions
# (two blocks each, `bot.status.SHOWN` of them) and a line for more: 1 + 11 + 1 + 30 + 1 = 44 of Slack's 50.
CLINICS_SHOWN = 10
# History blocks of one action: with its 3 other blocks, within a message's 50 (the modal allows 100).
HISTORY_SHOWN = 40

# --- messages -------------------------------------------------------------------------------------


def assignment_message(
    action: Action, owner: Person, now: datetime, handed_by: str | None = None
) -> tuple[str, list[dict[str, Any]]]:
    """The new owner's DM: from whoever assigned the action, or, reassigned, from whoever `handed_by` it over
    (naming who first assigned it when that was someone else)."""
    where = clinic_phrase(action)
    if handed_by is None:
        head = f"{mention(action.assigner_id)} gave you a clinic action"
    else:
        head = f"{mention(handed_by)} handed you a clinic action"
    text = f"{head}: {esc(action.title)}"
    lines = [
        head + (f" for *{where}*" if where else "") + ":",
        _named(action),
        f"Due {due_phrase(action, owner, now).removeprefix('due ')} (end of the day, your time)",
    ]
    if serves := outcome_phrase(action):
        lines.insert(2, f"It {serves}")
    if handed_by is not None and action.assigner_id not in (handed_by, owner.user_id):
        lines.append(f"First assigned by {mention(action.assigner_id)}")
    blocks: list[Block] = [SectionBlock(text=md("\n".join(lines)))]
    if action.notes:
        blocks.append(SectionBlock(text=md(f"_Notes:_ {quote(action.notes, 2500)}")))
    if action.source_link:
        blocks.append(ContextBlock(elements=[md(f"<{esc(action.source_link)}|From this message>")]))
    blocks.append(action_buttons(action))
    blocks.append(ContextBlock(elements=[md("Reply in this thread with progress and I'll note it on the action.")]))
    return text, render(blocks)


def assigner_update(
    action: Action,
    actor_id: str,
    kind: str,
    reader: Person,
    now: datetime,
    reason: str = "",
    approved_by: str | None = None,
) -> tuple[str, list[dict[str, Any]]]:
    """What the assigner hears when someone else marks their action blocked, or moves its deadline, with why
    (`approved_by`: whoever approved the owner's request for the new date)."""
    who = mention(actor_id)
    if kind == "blocked":
        head = f":red_circle: {who} marked {_named(action)} as blocked"
        body = f"_{quote(action.blocked_reason or '', 2000)}_"
    else:
        if actor_id == action.owner_id:
            head = f":hourglass: {who} needs more time for {_named(action)}"
        else:
            head = f":calendar: {who} moved the deadline of {_named(action)}"
        if approved_by is not None:
            head += f"; {mention(approved_by)} approved it"
        body = f"New deadline: {due_phrase(action, reader, now)}" + (f"\n_{quote(reason, 2000)}_" if reason else "")
    blocks: list[Block] = [SectionBlock(text=md(head + "\n" + body)), action_buttons(action)]
    return f"Update on action #{action.id}", render(blocks)


def cancelled(action: Action, actor_id: str, reason: str) -> tuple[str, list[dict[str, Any]]]:
    body = f":heavy_minus_sign: {mention(actor_id)} cancelled {_named(action)}: it is no longer needed."
    if reason:
        body += f"\n_{quote(reason, 2000)}_"
    return f"Action #{action.id} was cancelled", render([SectionBlock(text=md(body))])


def changed_message(action: Action, actor_id: str, reader: Person, now: datetime) -> dict[str, Any]:
    """What replaces the message whose button was pressed."""
    blocks: list[Block] = [
        SectionBlock(text=md(action_line(action, reader, now))),
        ContextBlock(elements=[md(f"{mention(actor_id)} {_said(action)}")]),
    ]
    if action.closed_at is None:
        blocks.append(action_buttons(action))
    return {"text": f"Action #{action.id} is {STATUS_WORDS[action.status]}", "blocks": render(blocks)}


def _said(action: Action) -> str:
    return {
        "done": "marked it done. Thank you!",
        "on_track": "said it is on track.",
        "blocked": "marked it blocked.",
    }.get(action.status, "updated it.")


def after_press(
    pressed: dict[str, Any], action: Action, actor_id: str, reader: Person, now: datetime
) -> dict[str, Any]:
    """The answer to a status button, given the message it was pressed on (`message` of the payload, absent
    for an ephemeral one). A message about this action alone is replaced by its new state; a list (one with a
    heading, as a status has, or naming other actions too) keeps the rest, even when it lists this action
    only, the pressed action's buttons giving way to what was done (so the block count never grows); an
    ephemeral one, whose blocks Slack does not send back, is answered beside it. The line that takes the
    buttons' place keeps a `pressed:` id naming its action, so a later press on the same list still sees it is
    about several (a nudge has no heading)."""
    blocks = pressed.get("blocks") or []
    own = f"action:{action.id}"
    others = [b for b in blocks if str(b.get("block_id", "")).startswith(("action:", "escalation:", "pressed:"))]
    headed = any(b.get("type") == "header" for b in blocks)
    if not headed and all(b.get("block_id") == own for b in others):
        return {"replace_original": bool(pressed), **changed_message(action, actor_id, reader, now)}
    done = ContextBlock(
        block_id=f"pressed:{action.id}", elements=[md(f"#{action.id}: {mention(actor_id)} {_said(action)}")]
    ).to_dict()
    return {
        "replace_original": True,
        "text": pressed.get("text") or f"Action #{action.id} is {STATUS_WORDS[action.status]}",
        "blocks": [done if b.get("block_id") == own else b for b in blocks],
    }


def status_message(
    heading: str,
    actions: Sequence[Action],
    reader: Person,
    now: datetime,
    *,
    more: int = 0,
    summaries: Sequence[tuple[Clinic, int, int, int]] = (),
    empty: str = "Nothing open. :tada:",
    first: int = 0,
    pages: tuple[str | None, str | None] = (None, None),
) -> dict[str, Any]:
    """`actions`: a page of a list, after `first` others and before `more`; `pages`: what the buttons to the
    page before and the page after carry (None: no such button)."""
    blocks: list[Block] = [HeaderBlock(text=plain(heading, 150))]
    for clinic, open_count, overdue, blocked in summaries[:CLINICS_SHOWN]:
        blocks.append(
            SectionBlock(
                text=md(
                    f"*{esc(clinic.name)}* · lead {mention(clinic.lead_id)}"
                    + (f" · sponsor {mention(clinic.sponsor_id)}" if clinic.sponsor_id else "")
                    + f"\n{open_count} open · {overdue} overdue · {blocked} blocked"
                )
            )
        )
    if len(summaries) > CLINICS_SHOWN:
        hidden = len(summaries) - CLINICS_SHOWN
        blocks.append(
            ContextBlock(
                elements=[
                    md(
                        f"…and {hidden} more clinic{'s' if hidden != 1 else ''} reporting here. "
                        "`/clinic status` with a clinic's name shows its numbers."
                    )
                ]
            )
        )
    if summaries and actions:
        blocks.append(DividerBlock())
    if not actions:
        blocks.append(SectionBlock(text=md(empty)))
    for action in actions:
        blocks.append(_Line(action_line(action, reader, now)))
        if action.closed_at is None:
            blocks.append(action_buttons(action))
    said = [f"{first + 1}–{first + len(actions)} of {first + len(actions) + more}."] if first and actions else []
    if more:
        said.append(f"…and {more} more. Narrow it down: `/clinic status overdue`, `/clinic status @person`.")
    if said:
        blocks.append(ContextBlock(elements=[md(" ".join(said))]))
    before, after = pages
    buttons = []
    if before:
        buttons.append(ButtonElement(text=plain(f"\u2039 Previous {SHOWN}"), action_id=ids.STATUS_BACK, value=before))
    if after:
        buttons.append(
            ButtonElement(text=plain(f"Next {min(more, SHOWN)} \u203a"), action_id=ids.STATUS_PAGE, value=after)
        )
    if buttons:
        blocks.append(ActionsBlock(block_id=ids.STATUS_PAGE, elements=buttons))
    return {"text": esc(heading), "blocks": render(blocks)}


def detail_blocks(action: Action, history: Sequence[ActionEvent], reader: Person, now: datetime) -> list[Block]:
    tz = reader.zone
    blocks: list[Block] = [SectionBlock(text=md(action_line(action, reader, now)))]
    facts = [f"Assigned by {mention(action.assigner_id)}"]
    if action.notes:
        facts.append(f"Notes: {quote(action.notes, 1500)}")
    if action.source_link:
        facts.append(f"<{esc(action.source_link)}|Source message>")
    blocks.append(SectionBlock(text=md("\n".join(facts))))
    blocks.append(HeaderBlock(text=plain("History", 150)))
    events = list(history)
    # A long history shows how it began and how it stands now, with a line saying how many between are left
    # out: HISTORY_SHOWN blocks in all.
    first, latest = (events[:1], events[2 - HISTORY_SHOWN :]) if len(events) > HISTORY_SHOWN else ([], events)
    left_out = len(events) - len(first) - len(latest)
    for event in first:
        blocks.append(_event_line(event, tz))
    if left_out:
        blocks.append(
            ContextBlock(
                elements=[
                    md(
                        f"…{left_out} earlier event{'s' if left_out != 1 else ''} not shown. The clinic's lead or "
                        "sponsor gets the full history with `/clinic export <clinic name>`."
                    )
                ]
            )
        )
    for event in latest:
        blocks.append(_event_line(event, tz))
    return blocks


def _event_line(event: ActionEvent, tz: ZoneInfo) -> ContextBlock:
    when = event.at.astimezone(tz).strftime("%a %d %b %H:%M")
    return ContextBlock(elements=[md(f"{when} · {mention(event.actor_id)} {event_phrase(event)}")])


def _because(detail: dict[str, Any]) -> str:
    """The reason given with a change, if one was."""
    return f": _{quote(detail['reason'], 500)}_" if detail.get("reason") else ""


def event_phrase(event: ActionEvent) -> str:
    d = event.detail
    if event.kind == "created":
        return f"created it, due {d.get('due', '')}"
    if event.kind == "status":
        return f"set it {STATUS_WORDS.get(d.get('to', ''), d.get('to', ''))}" + _because(d)
    if event.kind == "deadline":
        return f"moved the deadline from {d.get('from')} to {d.get('to')}" + _because(d)
    if event.kind == "note":
        return f"noted: _{quote(d.get('text', ''), 500)}_"
    if event.kind == "reassigned":
        return f"passed it from {mention(d['from'])} to {mention(d['to'])}"
    if event.kind == "extension_requested":
        return f"asked for more time, to {d.get('to')}" + _because(d)
    return {
        "nudged": "nudged the owner again",
        "agenda": "put it on the next one-to-one",
        "snoozed": f"snoozed reminders until {d.get('until')}",
        "extension_refused": "refused more time",
    }.get(event.kind, esc(event.kind))


def history_modal(action: Action, history: Sequence[ActionEvent], reader: Person, now: datetime) -> dict[str, Any]:
    view = View(
        type="modal",
        callback_id=ids.HISTORY_MODAL,
        title=plain(f"Action #{action.id}", 24),
        close=plain("Close"),
        blocks=detail_blocks(action, history, reader, now)[:100],
    )
    return view.to_dict()


# --- modals -----------------------------------------------------------------------------------


def add_action_modal(
    clinics: Sequence[Clinic],
    *,
    notes: str = "",
    source_link: str | None = None,
    channel: str | None = None,
) -> dict[str, Any]:
    """`channel` is where the form was opened from: the assigner's confirmation is shown there."""
    blocks: list[Block] = [
        InputBlock(
            block_id=ids.ACTION_TITLE,
            label=plain("What will be done?"),
            element=PlainTextInputElement(action_id=ids.ACTION_TITLE, max_length=200),
        ),
        InputBlock(
            block_id=ids.ACTION_OWNER,
            label=plain("Owner"),
            element=UserSelectElement(action_id=ids.ACTION_OWNER),
            dispatch_action=True,
        ),
        InputBlock(
            block_id=ids.ACTION_DUE,
            label=plain("Due by"),
            element=DatePickerElement(action_id=ids.ACTION_DUE),
            hint=plain("The end of that day in the owner's time zone.", 150),
        ),
    ]
    choice = clinic_choice(clinics)
    if choice is not None:
        blocks.append(
            InputBlock(
                block_id=ids.ACTION_CLINIC_AREA,
                label=plain("Clinic and focus area"),
                element=choice,
                optional=True,
            )
        )
    blocks.append(
        InputBlock(
            block_id=ids.ACTION_NOTES,
            label=plain("Notes"),
            element=PlainTextInputElement(
                action_id=ids.ACTION_NOTES,
                multiline=True,
                initial_value=clip(notes, 3000) or None,
                max_length=3000,
            ),
            optional=True,
        )
    )
    view = View(
        type="modal",
        callback_id=ids.ADD_ACTION_MODAL,
        title=plain("New clinic action", 24),
        submit=plain("Assign"),
        close=plain("Cancel"),
        blocks=blocks,
        private_metadata=json.dumps({"source_link": source_link, "channel": channel}),
    )
    return view.to_dict()


def clinic_choice(clinics: Sequence[Clinic]) -> StaticSelectElement | None:
    """One select for clinic and focus area: "clinic:<id>" or "area:<id>" values, grouped by clinic."""
    groups = []
    for clinic in clinics[:100]:
        options = [Option(text=plain(f"{clinic.name} (no focus area)"), value=f"clinic:{clinic.id}")]
        options += [Option(text=plain(area.name), value=f"area:{area.id}") for area in clinic.focus_areas]
        groups.append(OptionGroup(label=plain(clinic.name), options=options))
    if not groups:
        return None
    return StaticSelectElement(action_id=ids.ACTION_CLINIC_AREA, option_groups=groups, placeholder=plain("Optional"))


def _message(blocks: list[Block], text: str) -> tuple[str, list[dict[str, Any]]]:
    return text, render(blocks)


def extension_request(
    action: Action, request: ExtensionRequest, reader: Person, now: datetime
) -> tuple[str, list[dict[str, Any]]]:
    today = reader.local(now).date()
    body = (
        f":hourglass: {mention(request.requested_by)} asks for more time on {_named(action)}, "
        f"which has been escalated to you.\nFrom {describe_date(action.due_date, today)} to "
        f"*{describe_date(request.new_date, today)}*: _{quote(request.reason, 1500)}_"
    )
    value = str(request.id)
    return _message(
        [
            SectionBlock(text=md(body)),
            ActionsBlock(
                block_id=f"extension:{request.id}",
                elements=[
                    ButtonElement(text=plain("Approve"), action_id=ids.EXTENSION_APPROVE, value=value, style="primary"),
                    ButtonElement(text=plain("Refuse"), action_id=ids.EXTENSION_REFUSE, value=value),
                ],
            ),
        ],
        f"More time asked for action #{action.id}",
    )


def extension_decided(
    action: Action, approved: bool, decider_id: str, reader: Person, now: datetime
) -> tuple[str, list[dict[str, Any]]]:
    if approved:
        body = (
            f":white_check_mark: {mention(decider_id)} approved more time for {_named(action)}: "
            f"{due_phrase(action, reader, now)}."
        )
    else:
        body = (
            f":no_entry: {mention(decider_id)} did not approve more time for {_named(action)}; "
            f"the deadline stays {due_phrase(action, reader, now).removeprefix('due ')}. "
            "Reply in this thread if you need to talk it through."
        )
    return _answer_to_asker(action, reader, body)


def _answer_to_asker(action: Action, reader: Person, body: str) -> tuple[str, list[dict[str, Any]]]:
    """The answer to a request for more time, with the action's buttons for its owner (they refuse anyone else)."""
    blocks: list[Block] = [SectionBlock(text=md(body))]
    if action.closed_at is None and reader.user_id == action.owner_id:
        blocks.append(action_buttons(action))
    return _message(blocks, f"Your request on action #{action.id}")


def extension_lapsed(
    action: Action, request: ExtensionRequest, decider_id: str, reader: Person, now: datetime
) -> tuple[str, list[dict[str, Any]]]:
    """The asker hears that the date they asked for passed before the lead answered."""
    today = reader.local(now).date()
    body = (
        f":hourglass: The date you asked for on {_named(action)}, {describe_date(request.new_date, today)}, "
        f"passed before {mention(decider_id)} answered, so the deadline stays "
        f"{due_phrase(action, reader, now).removeprefix('due ')}. If you still need more time, ask again."
    )
    return _answer_to_asker(action, reader, body)


def extension_lapsed_for_lead(action: Action, request: ExtensionRequest, reader: Person, now: datetime) -> str:
    """The lead's answer to Approve on a request whose date has passed: a button has no date to pick."""
    day = describe_date(request.new_date, reader.local(now).date())
    return (
        f"{day}, the date asked for, has passed, so I closed the request without changing the deadline of "
        f"#{action.id} {esc(action.title)}. To give a new date, use *Extend deadline* on the escalation. "
        f"{mention(request.requested_by)} has been told they may ask again."
    )


def lead_nudge(action: Action, actor_id: str, reader: Person, now: datetime) -> tuple[str, list[dict[str, Any]]]:
    body = (
        f":wave: {mention(actor_id)} asked me to check on {_named(action)} "
        f"({due_phrase(action, reader, now)}). Where has it got to?"
    )
    return _message([SectionBlock(text=md(body)), action_buttons(action)], f"A check-in on action #{action.id}")


def deadline_extended(
    action: Action, actor_id: str, reader: Person, now: datetime, note: str = ""
) -> tuple[str, list[dict[str, Any]]]:
    body = f":calendar: {mention(actor_id)} moved the deadline of {_named(action)}: {due_phrase(action, reader, now)}."
    if note:
        body += f"\n_{quote(note, 2000)}_"
    return _message([SectionBlock(text=md(body)), action_buttons(action)], f"New deadline for action #{action.id}")


def closed_for_owner(action: Action, actor_id: str) -> tuple[str, list[dict[str, Any]]]:
    """The owner hears that someone else (their lead, sponsor or assigner) marked their action done."""
    body = f":white_check_mark: {mention(actor_id)} marked {_named(action)} as done. Nothing more is needed from you."
    return _message([SectionBlock(text=md(body))], f"Action #{action.id} is done")


def reassigned_away(action: Action, actor_id: str, *, withdrawn: bool = False) -> tuple[str, list[dict[str, Any]]]:
    body = (
        f"{mention(actor_id)} passed {_named(action)} to {mention(action.owner_id)}. "
        "Nothing more is needed from you on it."
    )
    if withdrawn:
        body += " Your request for more time on it is withdrawn."
    return _message([SectionBlock(text=md(body))], f"Action #{action.id} was reassigned")


def undeliverable_because(error: str) -> str:
    """Why a message could not be delivered, in words, from the error it was given up with."""
    return {
        "account_inactive": "their Slack account is deactivated",
        "user_not_found": "Slack doesn't know them",
        "channel_not_found": "the conversation no longer exists",
        "not_in_channel": "I'm not in that channel",
        "is_archived": "the channel is archived",
    }.get(error.split(": ")[-1], f"Slack said {esc(error)}")


def delivery_failed(actions: Sequence[Action], recipient: str, error: str) -> tuple[str, list[dict[str, Any]]]:
    """One notice for the actions a message that could not be delivered was about."""
    reason = undeliverable_because(error)
    who = mention(recipient) if recipient[:1] in "UW" else esc(recipient)
    several = len(actions) > 1
    about, them = (f"{len(actions)} actions", "them") if several else (_named(actions[0]), "it")
    body = f":warning: I couldn't reach {who} about {about}: {reason}. You may want to reassign {them}."
    blocks: list[Block] = [SectionBlock(text=md(body))]
    for action in actions:
        if several:
            blocks.append(_Line(_named(action)))
        if action.closed_at is None:
            blocks.append(action_buttons(action))
            reassign = ButtonElement(
                text=plain(f"Reassign #{action.id}"), action_id=ids.ESCALATION_REASSIGN, value=str(action.id)
            )
            blocks.append(ActionsBlock(block_id=f"reassign:{action.id}", elements=[reassign]))
    numbers = ", ".join(f"#{action.id}" for action in actions)
    return _message(blocks, f"Couldn't deliver a message about action{'s' if several else ''} {numbers}")


def _action_form(
    action: Action,
    callback_id: str,
    title: str,
    submit: str,
    intro: str,
    inputs: list[Block],
    home_page: int | None = None,
) -> dict[str, Any]:
    """A modal about one action: its title first, the inputs after, the action's id in the metadata, and for a
    modal opened from the Home tab the page it was opened on, so that the tab refreshed on submit stays there."""
    data = {"action_id": action.id} if home_page is None else {"action_id": action.id, "home_page": home_page}
    view = View(
        type="modal",
        callback_id=callback_id,
        title=plain(title, 24),
        submit=plain(submit),
        close=plain("Cancel"),
        private_metadata=json.dumps(data),
        blocks=[SectionBlock(text=md(f"{_named(action)}\n{intro}")), *inputs],
    )
    return view.to_dict()


def _text_input(block_id: str, label: str, *, optional: bool = False) -> InputBlock:
    return InputBlock(
        block_id=block_id,
        label=plain(label),
        element=PlainTextInputElement(action_id=block_id, multiline=True, max_length=3000),
        optional=optional,
    )


def _new_date() -> InputBlock:
    return InputBlock(block_id=ids.NEW_DUE, label=plain("New date"), element=DatePickerElement(action_id=ids.NEW_DUE))


def blocked_modal(action: Action, home_page: int) -> dict[str, Any]:
    reason = _text_input(ids.BLOCKED_REASON, "What blocks it, and who could unblock it?")
    return _action_form(action, ids.BLOCKED_MODAL, "What is blocking it?", "Mark blocked", "", [reason], home_page)


def more_time_modal(action: Action, today: date, home_page: int) -> dict[str, Any]:
    intro = f"Currently due {describe_date(action.due_date, today)}."
    inputs: list[Block] = [_new_date(), _text_input(ids.MORE_TIME_REASON, "Why?")]
    return _action_form(action, ids.MORE_TIME_MODAL, "Need more time", "Ask", intro, inputs, home_page)


def extend_modal(action: Action, today: date) -> dict[str, Any]:
    intro = f"Currently due {describe_date(action.due_date, today)}."
    inputs: list[Block] = [_new_date(), _text_input(ids.MORE_TIME_REASON, "Note for the owner", optional=True)]
    return _action_form(action, ids.EXTEND_MODAL, "Extend the deadline", "Extend", intro, inputs)


def reassign_modal(action: Action) -> dict[str, Any]:
    new_owner = InputBlock(
        block_id=ids.NEW_OWNER, label=plain("New owner"), element=UserSelectElement(action_id=ids.NEW_OWNER)
    )
    intro = f"Now owned by {mention(action.owner_id)}."
    return _action_form(action, ids.REASSIGN_MODAL, "Reassign", "Reassign", intro, [new_owner])


def notice_modal(title: str, text: str) -> dict[str, Any]:
    """A modal that only says something (what a submitted form turns into when there is news)."""
    view = View(type="modal", title=plain(title, 24), close=plain("Close"), blocks=[SectionBlock(text=md(text))])
    return view.to_dict()


def status_modal(report, reader: Person, now: datetime) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """A clinic's status, read-only, opened from the Home tab."""
    summaries = [(s.clinic, s.open, s.overdue, s.blocked) for s in report.clinics]
    message = status_message(report.heading, report.actions, reader, now, more=report.more, summaries=summaries)
    blocks = [b for b in message["blocks"] if b["type"] != "actions"]
    view = View(type="modal", title=plain("Clinic status", 24), close=plain("Close"), blocks=blocks[:100])
    return view.to_dict()
