"""What each person saw during a demo, in order: read off the calls the bot made to the Slack stand-in and
the answers it gave to people's own commands and clicks."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from bot.demo.standin import Call

Place = Literal["dm", "channel", "only_you", "form", "home", "did"]


@dataclass(frozen=True)
class Person:
    user_id: str
    name: str
    role: str
    tz: str

    @property
    def city(self) -> str:
        return self.tz.rsplit("/", 1)[-1].replace("_", " ")

    def local(self, at: datetime) -> str:
        return at.astimezone(ZoneInfo(self.tz)).strftime("%a %d %b %H:%M")


@dataclass(frozen=True)
class Moment:
    """One thing one person saw (or did): a DM, a channel post, an answer only they see, a form, their
    Home tab, or their own command or click (`place == "did"`)."""

    at: datetime
    seen_by: Person | None  # None: everyone in the channel
    place: Place
    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)
    channel: str | None = None
    image: bytes | None = None
    updated: bool = False


@dataclass
class Transcript:
    people: dict[str, Person]
    channels: dict[str, str]
    viewer_tz: str  # channel posts are timed in this zone
    moments: list[Moment] = field(default_factory=list)
    _uploads: dict[str, bytes] = field(default_factory=dict)

    def did(self, at: datetime, who: str, what: str) -> Moment:
        return self._add(Moment(at, self.people[who], "did", what))

    def answered(self, at: datetime, who: str, body: dict[str, Any]) -> list[Moment]:
        """The body of an ack: the answer only the caller sees (empty when the answer comes later)."""
        if not body.get("text") and not body.get("blocks"):
            return []
        return [self._add(Moment(at, self.people[who], "only_you", body.get("text", ""), body.get("blocks") or []))]

    def read(self, at: datetime, actor: str | None, calls: list[Call], *, homes: bool = False) -> list[Moment]:
        """Turn the bot's calls to Slack into moments. `actor` is whoever's command or click caused them:
        answers by `response_url` and forms that open go to them."""
        found: list[Moment] = []
        for call in calls:
            moment = self._moment(at, actor, call, homes)
            if moment is not None:
                found.append(self._add(moment))
        return found

    def _add(self, moment: Moment) -> Moment:
        self.moments.append(moment)
        return moment

    def _moment(self, at: datetime, actor: str | None, call: Call, homes: bool) -> Moment | None:
        p = call.params
        match call.method:
            case "upload":
                self._uploads[p["file_id"]] = p["data"]
            case "chat.postMessage" | "chat.update":
                where = str(p.get("channel", ""))
                updated = call.method == "chat.update"
                if where[:1] in ("C", "G"):
                    return Moment(at, None, "channel", p.get("text", ""), p.get("blocks") or [], where, None, updated)
                person = self.people.get(where.removeprefix("D"))
                return Moment(at, person, "dm", p.get("text", ""), p.get("blocks") or [], None, None, updated)
            case "response_url" if actor is not None:
                if p.get("delete_original"):
                    return None
                # The demo's people press buttons in their DMs: a replaced original is that DM, updated.
                updated = bool(p.get("replace_original"))
                place: Place = "dm" if updated else "channel" if p.get("response_type") == "in_channel" else "only_you"
                return Moment(at, self.people[actor], place, p.get("text", ""), p.get("blocks") or [], updated=updated)
            case "chat.postEphemeral":
                return Moment(at, self.people.get(str(p.get("user"))), "only_you", p.get("text", ""), p.get("blocks"))
            case "views.open" | "views.push" if actor is not None:
                view = p.get("view") or {}
                title = (view.get("title") or {}).get("text", "")
                return Moment(at, self.people[actor], "form", title, view.get("blocks") or [])
            case "views.publish" if homes:
                view = p.get("view") or {}
                return Moment(at, self.people.get(str(p.get("user_id"))), "home", "Home", view.get("blocks") or [])
            case "files.completeUploadExternal":
                [upload] = p.get("files") or [{}]
                where = str(p.get("channel_id", ""))
                return Moment(
                    at,
                    self.people.get(where.removeprefix("D")),
                    "dm",
                    upload.get("title", ""),
                    [],
                    image=self._uploads.get(str(upload.get("id"))),
                )
        return None

    def where(self, moment: Moment) -> str:
        """'DM', '#channel-name', 'only you can see this', ... in words."""
        return {
            "dm": "DM",
            "channel": "#" + self.channels.get(moment.channel or "", "channel"),
            "only_you": "only visible to you",
            "form": "a form opens",
            "home": "Home tab",
            "did": "",
        }[moment.place]

    def when(self, moment: Moment) -> str:
        if moment.seen_by is not None:
            return f"{moment.seen_by.local(moment.at)} {moment.seen_by.city}"
        viewer = Person("", "", "", self.viewer_tz)
        return f"{viewer.local(moment.at)} {viewer.city}"
