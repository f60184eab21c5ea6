"""Reading `/clinic ...` text into a typed request. Slack escapes mentions (`should_escape: true`), so people
arrive as `<@U123|name>` and channels as `<#C123|name>`, and a typed `&`, `<` or `>` arrives as `&amp;`,
`&lt;` or `&gt;`: the request holds the text as the person typed it."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Literal

from bot.clinics import NAME_LIMIT
from bot.errors import UserError
from bot.status import StatusKind
from bot.views.text import readable, unescape

_USER = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$")
_CHANNEL = re.compile(r"^<#([CG][A-Z0-9]+)(?:\|[^>]*)?>$")
_BY = re.compile(r"\s+by\s+", re.IGNORECASE)
_ID = re.compile(r"^#?(\d{1,9})$")

QUICK_ADD_EXAMPLE = "`/clinic add @owner Call the rota team by friday`"


@dataclass(frozen=True)
class Help:
    unknown: str | None = None


@dataclass(frozen=True)
class NewClinic:
    pass


@dataclass(frozen=True)
class AddWithModal:
    pass


@dataclass(frozen=True)
class QuickAdd:
    owner_id: str
    title: str
    due_text: str


@dataclass(frozen=True)
class Status:
    kind: StatusKind
    target: str | None
    share: bool


@dataclass(frozen=True)
class Done:
    action_id: int


@dataclass(frozen=True)
class Cancel:
    action_id: int
    reason: str


@dataclass(frozen=True)
class Show:
    action_id: int


@dataclass(frozen=True)
class Snooze:
    action_id: int
    until_text: str


@dataclass(frozen=True)
class Chase:
    clinic: str
    settings: dict[str, str]


@dataclass(frozen=True)
class Wins:
    clinic: str
    on: bool


@dataclass(frozen=True)
class Digest:
    settings: str | None  # None: show me my digest now; text: see or change when it comes


@dataclass(frozen=True)
class OneOnOne:
    person_id: str
    schedule: str = ""  # "every 2 weeks on thursday": set up recurring one-to-ones


@dataclass(frozen=True)
class EditClinic:
    clinic: str


@dataclass(frozen=True)
class Metric:
    text: str  # "<indicator> <value> [date]": the indicator's name is known only to the database


METRIC_EXAMPLE = "`/clinic metric Discharges before noon 42%`"
METRIC_LIMIT = 300  # characters of it read: a clinic's and an indicator's name, a value, its unit and a day


@dataclass(frozen=True)
class Export:
    clinic: str
    format: Literal["csv", "json"] = "csv"
    as_typed: str = ""  # every word after `export`: a clinic may be called "Weekly json"


EXPORT_EXAMPLE = "`/clinic export Discharge flow` (CSV files in a zip) or `/clinic export Discharge flow json`"

Command = (
    Help
    | EditClinic
    | Metric
    | NewClinic
    | AddWithModal
    | QuickAdd
    | Status
    | Done
    | Cancel
    | Show
    | Snooze
    | Chase
    | Wins
    | Digest
    | OneOnOne
    | Export
)

SUBCOMMANDS: dict[
    str,
    Literal[
        "help",
        "new",
        "edit",
        "metric",
        "add",
        "status",
        "done",
        "cancel",
        "show",
        "snooze",
        "chase",
        "wins",
        "digest",
        "1on1",
        "export",
    ],
] = {
    "help": "help",
    "export": "export",
    "new": "new",
    "edit": "edit",
    "metric": "metric",
    "reading": "metric",
    "add": "add",
    "status": "status",
    "done": "done",
    "close": "done",
    "cancel": "cancel",
    "drop": "cancel",
    "show": "show",
    "history": "show",
    "snooze": "snooze",
    "chase": "chase",
    "wins": "wins",
    "digest": "digest",
    "1on1": "1on1",
    "1:1": "1on1",
    "one-to-one": "1on1",
}


def parse(text: str) -> Command:
    """The request, its text decoded only once Slack's own `<...>` mentions are read, so that a typed
    `&lt;@U123&gt;` names nobody."""
    return _typed(_parse(text))


# The longest text read, as typed: cut once decoded, so that Slack's escapes (`&amp;`) neither count against
# the limit nor are split by the cut. A clinic's name is cut to the longest one can have.
_AS_TYPED_LIMITS = {"clinic": NAME_LIMIT, "target": NAME_LIMIT, "as_typed": NAME_LIMIT, "text": METRIC_LIMIT}


def _typed(request: Command) -> Command:
    """The request with every piece of text in it as the person typed it."""

    def decoded(name: str, value: object) -> object:
        if isinstance(value, str):
            return unescape(value)[: _AS_TYPED_LIMITS.get(name)]
        if isinstance(value, dict):
            return {unescape(k): unescape(v) for k, v in value.items()}
        return value

    changes = {f.name: decoded(f.name, getattr(request, f.name)) for f in dataclasses.fields(request)}
    return dataclasses.replace(request, **changes)


def _parse(text: str) -> Command:
    text = " ".join(text.split())
    head, _, rest = text.partition(" ")
    sub = SUBCOMMANDS.get(head.lower())
    if not head or sub == "help":
        return Help()
    if sub is None:
        return Help(unknown=head[:40])
    if sub == "new":
        return NewClinic()
    if sub == "edit":
        if not rest:
            raise UserError("Name the clinic, for example `/clinic edit Discharge flow`.")
        return EditClinic(rest)
    if sub == "export":
        name, _, fmt = rest.rpartition(" ")
        if fmt.lower() in ("csv", "json") and name:
            return Export(name, fmt.lower(), rest)  # type: ignore[arg-type]
        if not rest:
            raise UserError(f"Name the clinic, for example {EXPORT_EXAMPLE}.")
        return Export(rest)
    if sub == "metric":
        if len(rest.split()) < 2:
            raise UserError(f"Name the indicator and give its value, for example {METRIC_EXAMPLE}.")
        return Metric(rest)
    if sub == "add":
        return _add(rest) if rest else AddWithModal()
    if sub == "status":
        return _status(rest)
    if sub == "snooze":
        return _snooze(rest)
    if sub == "chase":
        return _chase(rest)
    if sub == "wins":
        return _wins(rest)
    if sub == "1on1":
        who, _, schedule = rest.partition(" ")
        person = _USER.match(who)
        if person is None:
            raise UserError("Say who with, for example `/clinic 1on1 @person`.")
        return OneOnOne(person.group(1), schedule.strip())
    if sub == "cancel":
        number, _, reason = rest.partition(" ")
        return Cancel(_action_id(number, sub), reason.strip())
    if sub == "digest":
        word, _, more = rest.partition(" ")
        if word.lower() == "settings":
            return Digest(more.strip())
        if rest:  # `/clinic digest friday 16:00` would otherwise show the digest and change nothing, unsaid
            raise UserError(
                f"To change when your digest comes, say `/clinic digest settings {rest[:60]}`. Nothing was changed."
            )
        return Digest(None)
    return (Done if sub == "done" else Show)(_action_id(rest, sub))


def _snooze(rest: str) -> Snooze:
    number, _, until = rest.partition(" ")
    until = re.sub(r"^until\s+", "", until.strip(), flags=re.IGNORECASE)
    if not until:
        raise UserError("Say until when, for example `/clinic snooze 12 until monday`.")
    return Snooze(_action_id(number, "snooze"), until)


def _add(rest: str) -> QuickAdd:
    who, _, remainder = rest.partition(" ")
    owner = _USER.match(who)
    if owner is None:
        raise UserError(f"Start with the owner, as a mention. For example: {QUICK_ADD_EXAMPLE}")
    pieces = _BY.split(" " + remainder)
    if len(pieces) < 2:
        raise UserError(f"Add a deadline after \u201cby\u201d. For example: {QUICK_ADD_EXAMPLE}")
    title, due_text = readable(" by ".join(pieces[:-1]).strip()), pieces[-1].strip()
    if not title:
        raise UserError(f"Say what will be done before \u201cby\u201d. For example: {QUICK_ADD_EXAMPLE}")
    return QuickAdd(owner_id=owner.group(1), title=title, due_text=due_text)


def _status(rest: str) -> Status:
    words = rest.split()
    share = bool(words) and words[-1].lower() in ("share", "shared", "public")
    if share:
        words = words[:-1]
    target = " ".join(words)
    if not target or target.lower() in ("me", "mine"):
        return Status("mine", None, share)
    if target.lower() == "overdue":
        return Status("overdue", None, share)
    if user := _USER.match(target):
        return Status("person", user.group(1), share)
    if channel := _CHANNEL.match(target):
        return Status("channel", channel.group(1), share)
    return Status("clinic", target, share)


def _action_id(rest: str, sub: str) -> int:
    match = _ID.match(rest.strip())
    if match is None:
        raise UserError(f"Give the action's number, for example `/clinic {sub} 12`.")
    return int(match.group(1))


def _chase(rest: str) -> Chase:
    words = rest.split()
    pairs = dict(w.split("=", 1) for w in words if "=" in w)
    clinic = " ".join(w for w in words if "=" not in w)
    if not clinic:
        raise UserError("Name the clinic, for example `/clinic chase Discharge flow nudges=2 lead_after=5`.")
    return Chase(clinic, pairs)


def _wins(rest: str) -> Wins:
    clinic, _, switch = rest.rpartition(" ")
    if switch.lower() not in ("on", "off") or not clinic.strip():
        raise UserError("Say which clinic and on or off, for example `/clinic wins Discharge flow off`.")
    return Wins(clinic.strip(), switch.lower() == "on")
