"""Block Kit for the clinic method: the form to edit focus areas and their indicators, the indicator form,
the "time to report" DM and its form, the lead's note of a missed reading, and the answer to a reading."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DatePickerElement,
    DividerBlock,
    InputBlock,
    Option,
    PlainTextInputElement,
    SectionBlock,
    StaticSelectElement,
    UserSelectElement,
)
from slack_sdk.models.views import View

from bot.clinics import MAX_FOCUS_AREAS, TOO_MANY_AREAS
from bot.dates import describe_date
from bot.indicators import CADENCES, DIRECTIONS, KINDS, NAME_LIMIT, UNIT_LIMIT, Trend, show_value, typed_value
from bot.people import Person
from bot.reporting import MAX_PER_AREA, Recorded, indicator_trend
from bot.views import ids
from bot.views.actions import render
from bot.views.clinics import area_inputs, role_inputs
from bot.views.text import esc, md, mention, plain, quote
from storage.models import Clinic, Indicator, IndicatorReading

VERDICT_ICONS = {
    "improving": ":chart_with_upwards_trend:",
    "flat": ":left_right_arrow:",
    "worsening": ":chart_with_downwards_trend:",
    "too few readings to say": ":grey_question:",
}


def edit_clinic_modal(clinic: Clinic, indicators: Sequence[Indicator]) -> dict[str, Any]:
    """Its lead, sponsor and channel; focus areas with their outcome and why, and under each saved area its
    indicators with buttons to add or edit one (a form of its own, opened on top)."""
    by_position = {area.position: area for area in clinic.focus_areas}
    blocks: list[Block] = [
        *role_inputs(clinic.lead_id, clinic.sponsor_id, clinic.channel_id),
        DividerBlock(),
        SectionBlock(
            text=md(
                "The clinic method: up to four focus areas, each with the outcome it should achieve, why it "
                "matters, and the *lead* indicators (is execution improving now?) and *lag* indicators (did the "
                "outcome move?) that answer: _how will we know if things are improving?_"
            )
        ),
        ContextBlock(elements=[md(TOO_MANY_AREAS + " Clear an area's name to drop it.")]),
    ]
    for slot in range(1, MAX_FOCUS_AREAS + 1):
        area = by_position.get(slot)
        blocks.append(DividerBlock())
        if area is None:
            blocks += area_inputs(slot)
            continue
        blocks += area_inputs(slot, area.name, area.outcome or "", area.why or "")
        mine = [i for i in indicators if i.focus_area_id == area.id][:MAX_PER_AREA]
        for indicator in mine:
            blocks.append(
                SectionBlock(
                    text=md(indicator_summary(indicator)),
                    accessory=ButtonElement(text=plain("Edit"), action_id=ids.EDIT_INDICATOR, value=str(indicator.id)),
                )
            )
        if len(mine) < MAX_PER_AREA:
            blocks.append(
                ActionsBlock(
                    block_id=f"area:{area.id}",
                    elements=[
                        ButtonElement(
                            text=plain(f"Add an indicator to {area.name}"),
                            action_id=ids.ADD_INDICATOR,
                            value=str(area.id),
                        )
                    ],
                )
            )
    blocks.append(ContextBlock(elements=[md("Save the areas first to add indicators to a new one.")]))
    view = View(
        type="modal",
        callback_id=ids.EDIT_CLINIC_MODAL,
        title=plain(f"Edit {clinic.name}", 24),
        submit=plain("Save"),
        close=plain("Cancel"),
        private_metadata=json.dumps(
            {"clinic_id": clinic.id, "shown": [clinic.lead_id, clinic.sponsor_id, clinic.channel_id]}
        ),
        blocks=blocks,
    )
    return view.to_dict()


def indicator_summary(indicator: Indicator) -> str:
    unit = indicator.unit
    return (
        f"*{esc(indicator.name)}* ({indicator.kind}, {DIRECTIONS[indicator.direction]})\n"
        f"{show_value(indicator.baseline_value, esc(unit))} on {indicator.baseline_date:%d %b %Y} → "
        f"{show_value(indicator.target_value, esc(unit))} by {indicator.target_date:%d %b %Y} · "
        f"{indicator.cadence} from {mention(indicator.reporter_id)}"
    )


def _options(choices: dict[str, str]) -> list[Option]:
    return [Option(text=plain(words), value=value) for value, words in choices.items()]


def _initial(choices: dict[str, str], value: str | None) -> Option | None:
    return Option(text=plain(choices[value]), value=value) if value in choices else None


def indicator_modal(
    area_id: int, area_name: str, indicator: Indicator | None, today: date, parent: str | None
) -> dict[str, Any]:
    i = indicator
    blocks: list[Block] = [
        ContextBlock(elements=[md(f"Focus area: *{esc(area_name)}*")]),
        InputBlock(
            block_id=ids.INDICATOR_NAME,
            label=plain("Indicator"),
            hint=plain("What is counted, for example: Discharges before noon. Unique in the clinic.", 150),
            element=PlainTextInputElement(
                action_id=ids.INDICATOR_NAME, max_length=NAME_LIMIT, initial_value=i.name if i else None
            ),
        ),
        InputBlock(
            block_id=ids.INDICATOR_KIND,
            label=plain("Kind"),
            element=StaticSelectElement(
                action_id=ids.INDICATOR_KIND,
                options=_options(KINDS),
                initial_option=_initial(KINDS, i.kind if i else None),
            ),
        ),
        InputBlock(
            block_id=ids.INDICATOR_UNIT,
            label=plain("Unit"),
            hint=plain("%, minutes, patients… Leave empty for a plain count.", 150),
            element=PlainTextInputElement(
                action_id=ids.INDICATOR_UNIT, max_length=UNIT_LIMIT, initial_value=(i.unit or None) if i else None
            ),
            optional=True,
        ),
        InputBlock(
            block_id=ids.INDICATOR_DIRECTION,
            label=plain("Which way is good?"),
            element=StaticSelectElement(
                action_id=ids.INDICATOR_DIRECTION,
                options=_options(DIRECTIONS),
                initial_option=_initial(DIRECTIONS, i.direction if i else None),
            ),
        ),
        InputBlock(
            block_id=ids.INDICATOR_BASELINE,
            label=plain("Baseline: where it stands"),
            element=PlainTextInputElement(
                action_id=ids.INDICATOR_BASELINE,
                max_length=30,
                initial_value=typed_value(i.baseline_value) if i else None,
            ),
        ),
        InputBlock(
            block_id=ids.INDICATOR_BASELINE_DATE,
            label=plain("Baseline measured on"),
            element=DatePickerElement(
                action_id=ids.INDICATOR_BASELINE_DATE,
                initial_date=(i.baseline_date if i else today).isoformat(),
            ),
        ),
        InputBlock(
            block_id=ids.INDICATOR_TARGET,
            label=plain("Target"),
            element=PlainTextInputElement(
                action_id=ids.INDICATOR_TARGET, max_length=30, initial_value=typed_value(i.target_value) if i else None
            ),
        ),
        InputBlock(
            block_id=ids.INDICATOR_TARGET_DATE,
            label=plain("Target reached by"),
            element=DatePickerElement(
                action_id=ids.INDICATOR_TARGET_DATE, initial_date=i.target_date.isoformat() if i else None
            ),
        ),
        InputBlock(
            block_id=ids.INDICATOR_REPORTER,
            label=plain("Who reports it"),
            element=UserSelectElement(action_id=ids.INDICATOR_REPORTER, initial_user=i.reporter_id if i else None),
        ),
        InputBlock(
            block_id=ids.INDICATOR_CADENCE,
            label=plain("How often"),
            element=StaticSelectElement(
                action_id=ids.INDICATOR_CADENCE,
                options=_options({c: c for c in CADENCES}),
                initial_option=_initial({c: c for c in CADENCES}, i.cadence if i else None),
            ),
        ),
    ]
    metadata = {"area_id": area_id, "indicator_id": i.id if i else None, "parent": parent}
    view = View(
        type="modal",
        callback_id=ids.INDICATOR_MODAL,
        title=plain("Edit indicator" if i else "Add an indicator", 24),
        submit=plain("Save"),
        close=plain("Back"),
        private_metadata=json.dumps(metadata),
        blocks=blocks,
    )
    return view.to_dict()


# --- reporting ------------------------------------------------------------------------------------


def report_modal(indicator: Indicator, latest: IndicatorReading | None, today: date) -> dict[str, Any]:
    unit = indicator.unit
    known = ""
    if latest is not None:
        known = f"Latest: {show_value(latest.value, unit)} on {describe_date(latest.reading_date, today)}."
    blocks: list[Block] = [
        SectionBlock(text=md(f"*{esc(indicator.name)}* ({esc(indicator.clinic.name)}) {esc(known)}")),
        InputBlock(
            block_id=ids.READING_VALUE,
            label=plain("Value" + (f" ({unit})" if unit else "")),
            element=PlainTextInputElement(action_id=ids.READING_VALUE, max_length=40),
        ),
        InputBlock(
            block_id=ids.READING_DATE,
            label=plain("Measured on"),
            element=DatePickerElement(action_id=ids.READING_DATE, initial_date=today.isoformat()),
        ),
    ]
    view = View(
        type="modal",
        callback_id=ids.REPORT_MODAL,
        title=plain("Report a reading", 24),
        submit=plain("Report"),
        close=plain("Cancel"),
        private_metadata=json.dumps({"indicator_id": indicator.id}),
        blocks=blocks,
    )
    return view.to_dict()


def where(indicator: Indicator) -> str:
    """The clinic, the focus area and the outcome it serves."""
    area = indicator.focus_area
    text = f"{esc(indicator.clinic.name)} › {esc(area.name)}"
    return text + (f" (outcome: _{quote(area.outcome, 200)}_)" if area.outcome else "")


def standing(indicator: Indicator, trend: Trend, today: date) -> str:
    """Latest against baseline and target, and the trend in plain words."""
    unit = indicator.unit
    parts = [
        f"baseline {show_value(indicator.baseline_value, unit)} ({describe_date(indicator.baseline_date, today)})",
        f"target {show_value(indicator.target_value, unit)} by {describe_date(indicator.target_date, today)}",
    ]
    if trend.latest is not None:
        parts.insert(0, f"latest {show_value(trend.latest.value, unit)} ({describe_date(trend.latest.on, today)})")
    return esc(", ".join(parts)) + f" · {VERDICT_ICONS[trend.verdict]} {trend.verdict}"


def _report_button(indicator: Indicator) -> ActionsBlock:
    return ActionsBlock(
        block_id=f"report:{indicator.id}",
        elements=[
            ButtonElement(
                text=plain("Report a reading"),
                action_id=ids.REPORT_READING,
                value=str(indicator.id),
                style="primary",
            )
        ],
    )


def report_due_message(
    indicator: Indicator, readings: Sequence[IndicatorReading], reader: Person, now: datetime, *, reminder: bool
) -> tuple[str, list[dict[str, Any]]]:
    today = reader.local(now).date()
    when = describe_date(indicator.due_on, today)
    name = esc(indicator.name)
    head = (
        f":bell: Reminder: the {indicator.cadence} reading of *{name}* was due {when}."
        if reminder
        else f":bar_chart: Time to report *{name}*: its {indicator.cadence} reading is due {when}."
    )
    # Named with its clinic: the name alone may also be another clinic's indicator (now or later).
    command = f"/clinic metric {esc(indicator.clinic.name)} / {name} <value>"
    trend = indicator_trend(indicator, readings)
    lines = [head, where(indicator), standing(indicator, trend, today)]
    blocks: list[Block] = [
        SectionBlock(text=md("\n".join(lines))),
        _report_button(indicator),
        ContextBlock(elements=[md(f"Or type `{command}`; a past day may follow the value.")]),
    ]
    text = f"{'Reminder: ' if reminder else ''}time to report {indicator.name}"
    return esc(text), render(blocks)


def missed_message(
    indicator: Indicator, readings: Sequence[IndicatorReading], reader: Person, now: datetime, late: int
) -> tuple[str, list[dict[str, Any]]]:
    today = reader.local(now).date()
    days = f"{late} working day{'s' if late != 1 else ''}"
    head = (
        f":warning: {mention(indicator.reporter_id)} has not reported *{esc(indicator.name)}*: its "
        f"{indicator.cadence} reading was due {describe_date(indicator.due_on, today)} ({days} ago), "
        "and they have had a reminder."
    )
    trend = indicator_trend(indicator, readings)
    blocks: list[Block] = [
        SectionBlock(text=md("\n".join([head, where(indicator), standing(indicator, trend, today)]))),
        _report_button(indicator),
    ]
    return esc(f"A reading of {indicator.name} is missing"), render(blocks)


def recorded_text(recorded: Recorded, today: date) -> str:
    indicator = recorded.indicator
    unit = indicator.unit
    stored = f"{show_value(recorded.value, unit)} for {describe_date(recorded.day, today)}"
    lines = [f":white_check_mark: Stored *{esc(indicator.name)}* = {esc(stored)}."]
    if recorded.replaced is not None:
        lines.append(
            f"It replaces the {esc(show_value(recorded.replaced, unit))} reported earlier for that day "
            "(one reading a day)."
        )
    lines.append(where(indicator))
    lines.append(standing(indicator, recorded.trend, today))
    if recorded.trend.progress_to_target is not None:
        lines.append(f"{recorded.trend.progress_to_target:.0%} of the way from baseline to target.")
    lines.append(f"Next reading due {describe_date(recorded.next_due, today)}.")
    return "\n".join(lines)


def recorded_modal(recorded: Recorded, today: date) -> dict[str, Any]:
    view = View(
        type="modal",
        title=plain("Reading stored", 24),
        close=plain("Close"),
        blocks=[SectionBlock(text=md(recorded_text(recorded, today)))],
    )
    return view.to_dict()
