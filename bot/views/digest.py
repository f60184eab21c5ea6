"""Block Kit for the weekly digest. Long lists end with "and N more" and a pointer to where the rest are;
focus areas take as many sections as they need; every section stays inside Slack's limits (3000
characters a section, 50 blocks a message)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import Block, ContextBlock, DividerBlock, HeaderBlock, SectionBlock

from bot.dates import describe_date
from bot.digest import (
    DAYS,
    SETTINGS_EXAMPLE,
    AreaProgress,
    Digest,
    Headline,
    IndicatorProgress,
    Preference,
    charted,
)
from bot.indicators import show_value
from bot.people import zone
from bot.views.actions import render
from bot.views.indicators import standing
from bot.views.text import esc, md, mention, plain, quote
from storage.models import Action

LIST_LINES = 8
SECTION_LIMIT = 2900
MESSAGE_BLOCKS = 50  # Slack refuses a message with more
SEPARATE = "one digest per clinic shows them all: `/clinic digest settings separate`"
NOTE_NAMES = 2000  # a context's text may hold 3000 characters
ALT_TEXT_LIMIT = 1000  # characters Slack takes as an uploaded image's description (alt_txt_too_large beyond)


def digest_message(digest: Digest, tz: str) -> tuple[str, list[dict[str, Any]]]:
    today = digest.now.astimezone(zone(tz)).date()
    # Each pointer leads to a list that holds what its list leaves out: `/clinic status` shows open actions
    # only, so the week's wins (closed) are in the export; `overdue` holds neither what is still to fall due
    # nor what is blocked before its deadline.
    name = esc(digest.clinics[0].name) if len(digest.clinics) == 1 else None
    status = f"`/clinic status {name}`" if name else "`/clinic status` with a clinic's name"
    export = f"`/clinic export {name}`" if name else "`/clinic export` with a clinic's name"
    blocks: list[Block] = [
        HeaderBlock(text=plain(f"Weekly digest: {digest.title}", 150)),
        ContextBlock(
            elements=[
                md(
                    f"Week of {digest.week_of:%a} {digest.week_of.day} {digest.week_of:%b} · "
                    "changes against the week before"
                )
            ]
        ),
        SectionBlock(fields=[md(f) for f in _numbers(digest.headline, digest.last_week)]),
        DividerBlock(),
    ]

    def listing(title: str, actions: Sequence[Action], total: int, line, empty: str, pointer: str) -> None:  # type: ignore[no-untyped-def]
        lines = [line(a) for a in actions]
        blocks.append(SectionBlock(text=md(_lines(f"*{title}*", lines, empty, pointer, total))))

    listing(
        "Overdue and blocked",
        digest.slipping,
        digest.slipping_total,
        lambda a: _slipping(a, digest.now, zone(tz)),
        "Nothing overdue or blocked. :tada:",
        status,
    )
    listing(
        "Wins this week: thank them",
        digest.wins,
        digest.headline.done,
        lambda a: f":white_check_mark: {mention(a.owner_id)}: {quote(a.title, 120)}",
        "No actions closed this week.",
        f"{export} (every action, with when it was closed)",
    )
    listing(
        "Due in the coming week",
        digest.coming,
        digest.headline.due_next_week,
        lambda a: f"• {describe_date(a.due_date, today)}: {mention(a.owner_id)}: {quote(a.title, 120)}",
        "Nothing falls due in the coming week.",
        status,
    )
    if digest.areas:
        room = MESSAGE_BLOCKS - len(blocks) - 1  # the closing note
        blocks.extend(_area_sections(digest.areas, len(digest.clinics) > 1, today, room))
    blocks.append(ContextBlock(elements=[md(_chart_note(digest))]))
    h = digest.headline
    text = f"Weekly digest for {esc(digest.title)}: {h.open} open, {h.overdue} overdue, {h.done} done this week"
    return text, render(blocks)


def _chart_note(digest: Digest) -> str:
    """Where the chart is, and which indicators it has no panel for, cut at whole names within a
    context's limit."""
    note = "The weekly message carries a chart of the last eight weeks. `/clinic digest` shows this any time."
    panels, without = charted(digest)
    if not without:
        return note
    names = [f"*{quote(p.indicator.name, 60)}*" for p in without]
    shown = names
    while len(", ".join(shown)) > NOTE_NAMES:
        shown = shown[:-1]
    rest = f" and {len(names) - len(shown)} more" if len(shown) < len(names) else ""
    return (
        f"{note}\nThe chart has a panel for {len(panels)} of {len(panels) + len(without)} indicators; "
        f"without a panel: {', '.join(shown)}{rest} ({SEPARATE})."
    )


def chart_alt_text(digest: Digest) -> str:
    """What a screen reader says of the chart: each week's figures, latest first, then each panel's latest
    reading against its target. Plain text (it is read out, not rendered), cut at a whole panel within what
    Slack takes, saying how many panels it leaves out."""
    # The latest week in words, the others' figures in the same order: 8 weeks in words take half the room.
    weeks = [f"{start.day} {start:%b}: {opened}, {overdue}, {done}" for start, opened, overdue, done in digest.weeks]
    if digest.weeks:
        start, opened, overdue, done = digest.weeks[-1]
        weeks[-1] = f"week of {start.day} {start:%b}: {opened} open, {overdue} overdue, {done} done"
    text = (
        f"Chart of {digest.title} over the last {len(digest.weeks)} weeks. Actions open, overdue and done, "
        f"latest week first: {'; '.join(reversed(weeks))}."
    )
    panels = [_panel_alt_text(p) for p in charted(digest)[0]]
    for shown in range(len(panels), -1, -1):
        rest = len(panels) - shown
        more = [f"And {rest} more {'panel' if rest == 1 else 'panels'}."] if rest else []
        described = " ".join([text, *panels[:shown], *more])
        if len(described) <= ALT_TEXT_LIMIT:
            return described
    return described[: ALT_TEXT_LIMIT - 1] + "…"  # the weeks alone are too long: a clinic named at great length


def _panel_alt_text(p: IndicatorProgress) -> str:
    unit = p.indicator.unit
    latest = p.trend.latest
    by = p.indicator.target_date
    target = f"target {show_value(p.indicator.target_value, unit)} by {by.day} {by:%b %Y}"
    if latest is None:
        return f"{p.indicator.name}: no readings yet, {target}."
    reading = f"{show_value(latest.value, unit)} on {latest.on.day} {latest.on:%b}"
    return f"{p.indicator.name}: {reading}, {target}, {p.trend.verdict}."


def _numbers(now: Headline, before: Headline) -> list[str]:
    def figure(label: str, value: int, previous: int, good_when_down: bool | None = False) -> str:
        change = value - previous
        if change == 0:
            trend = "same as last week"
        elif good_when_down is None:  # neither good nor bad
            trend = f"{'+' if change > 0 else '−'}{abs(change)}"
        else:
            better = (change < 0) == good_when_down
            mark = ":white_check_mark:" if better else ":small_red_triangle:"
            trend = f"{'+' if change > 0 else '−'}{abs(change)} {mark}"
        return f"*{label}*\n{value}  ({trend})"

    return [
        figure("Open", now.open, before.open, good_when_down=True),
        figure("Done this week", now.done, before.done),
        figure("Overdue", now.overdue, before.overdue, good_when_down=True),
        figure("Blocked", now.blocked, before.blocked, good_when_down=True),
        figure("Stalled", now.stalled, before.stalled, good_when_down=True),
        figure("Due next week", now.due_next_week, before.due_next_week, good_when_down=None),
    ]


def _area_sections(areas: Sequence[AreaProgress], name_clinic: bool, today: date, room: int) -> list[SectionBlock]:
    """Every area with every indicator, in at most `room` sections. An area that fits in one section is
    not split between two; one that does not (ten indicators with long names) is split between its
    lines. Only a combined digest of many clinics can need more sections than a message may carry: the
    last one then ends with how many areas are left out, never with part of one."""
    sections: list[list[tuple[int, str]]] = [[(-1, "*Focus areas: how will we know?*")]]
    for number, area in enumerate(areas):
        lines = [(number, line) for line in _area(area, name_clinic, today)]
        if _size([*sections[-1], *lines]) > SECTION_LIMIT and _size(lines) <= SECTION_LIMIT:
            sections.append([])
        for line in lines:
            if _size([*sections[-1], line]) > SECTION_LIMIT:
                sections.append([])
            sections[-1].append(line)
    if len(sections) > room:
        shown = sections[room][0][0]  # the first area left out, which may begin in the last section kept
        sections = [[(n, line) for n, line in section if n < shown] for section in sections[:room]]
        left = len(areas) - shown
        sections[-1].append((-1, f"…and {left} more focus area{'s' if left != 1 else ''}: {SEPARATE}"))
    return [SectionBlock(text=md("\n".join(line for _, line in section))) for section in sections]


def _size(lines: Sequence[tuple[int, str]]) -> int:
    return len("\n".join(line for _, line in lines))


def _area(area: AreaProgress, name_clinic: bool, today: date) -> list[str]:
    """The area, the outcome it serves, its actions, and each indicator against baseline and target."""
    head = f"• *{esc(area.area)}*" + (f" ({esc(area.clinic)})" if name_clinic else "")
    if area.outcome:
        head += f" → _{quote(area.outcome, 150)}_"
    lines = [head, f"   actions: {area.open} open, {area.done} done"]
    lines += [f"   ◦ *{quote(p.indicator.name, 60)}*: {standing(p.indicator, p.trend, today)}" for p in area.indicators]
    if area.rethink:
        lines.append("   :warning: _worsening although every linked action is done: are these the right actions?_")
    return lines


def _slipping(action: Action, now: datetime, reader: ZoneInfo) -> str:
    """One overdue or blocked action; days as the reader's calendar counts them (due Thursday, read on
    Friday: a day overdue, however many hours the deadline's time zone leaves)."""
    today = now.astimezone(reader).date()
    days = (today - action.due_date).days
    if action.due_at >= now:
        late = f"due {describe_date(action.due_date, today)}"
    else:
        late = f"{days} day{'s' if days != 1 else ''} overdue" if days > 0 else "overdue since today"
    updated = action.last_owner_update_at
    last = f"last update {describe_date(updated.astimezone(reader).date(), today)}" if updated else "no update yet"
    line = f"• {mention(action.owner_id)}: *{quote(action.title, 100)}* · {late} · {last}"
    if action.status == "blocked" and action.blocked_reason:
        line += f"\n   blocked: _{quote(action.blocked_reason, 150)}_"
    return line


def _lines(title: str, lines: list[str], empty: str, pointer: str, total: int) -> str:
    """A titled list of the first `lines` of `total`, cut at whole lines with "and N more" so it never
    exceeds a section's limit."""
    if not lines:
        return f"{title}\n{empty}" if empty else title
    shown: list[str] = []
    for index, line in enumerate(lines):
        rest = total - index
        more = f"…and {rest - 1} more: {pointer}" if rest > 1 else ""
        if index == LIST_LINES or len("\n".join([title, *shown, line, more])) > SECTION_LIMIT:
            shown.append(f"…and {rest} more: {pointer}")
            break
        shown.append(line)
    return "\n".join([title, *shown])


def preference_message(pref: Preference, *, changed: bool) -> str:
    day = DAYS[pref.weekday].capitalize()
    how = "one digest for all your clinics" if pref.combined else "one digest per clinic"
    head = "Done: your" if changed else "Your"
    return (
        f"{head} weekly digest comes on *{day} at {pref.at:%H:%M}* your time, {how}.\n"
        f"Change it with {SETTINGS_EXAMPLE}."
    )
