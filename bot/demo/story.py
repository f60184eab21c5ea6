"""`clinic-bot demo`: a scripted clinic, end to end, through the real code path.

A temporary SQLite database, the real Bolt app receiving signed Slack payloads, the real scheduler pass on a
simulated clock, and a local stand-in of Slack's Web API that records what the bot posts. People press the
buttons the bot actually sent them; what they see is read back from what the bot actually sent."""

from __future__ import annotations

import json
import random
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn
from sqlalchemy import select

from bot.app import BOT_SCOPES, create_app
from bot.clock import FixedClock
from bot.demo.driver import Answer, SlackDriver
from bot.demo.render import page, print_moment
from bot.demo.standin import Call, SlackStandIn
from bot.demo.transcript import Moment, Person, Transcript
from bot.demo.walk import Walk
from bot.settings import Settings
from bot.views import ids
from storage.db import make_engine, make_session_factory, upgrade
from storage.models import Action

TEAM = "T0DEMO"
CHANNEL = "C0DISCHARGE"
SECRET = "demo-signing-secret"
START = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)  # a Monday morning in London
END = datetime(2026, 12, 11, 10, 0, tzinfo=UTC)
PAUSE = 0.35  # seconds between scenes at --speed 1
STEP = timedelta(minutes=30)

# Names the seed chooses from; the roles and time zones stay, so the story holds whatever the seed.
LEADS = ["Lee Adams", "Leila Haddad", "Lars Berg"]
SPONSORS = ["Sam Okafor", "Sofia Romano", "Sean Walsh"]
LONDON = ["Olu Bello", "Olivia Grant", "Omar Khan"]
KOLKATA = ["Priya Nair", "Pooja Sen", "Pranav Iyer"]
NEW_YORK = ["Jo Rivera", "Jamal Price", "June Park"]


@dataclass
class DemoResult:
    transcript: Transcript
    html_path: Path | None
    seconds: float


class Story:
    def __init__(self, console: Console, *, speed: float, seed: int) -> None:
        self.console = console
        self.pause = PAUSE / speed if speed > 0 else 0.0
        pick = random.Random(seed).choice
        self.lead = Person("U0LEAD", pick(LEADS), "clinic lead", "Europe/London")
        self.sponsor = Person("U0SPONSOR", pick(SPONSORS), "executive sponsor", "Europe/Berlin")
        self.olu = Person("U0LONDON", pick(LONDON), "action owner", "Europe/London")
        self.priya = Person("U0KOLKATA", pick(KOLKATA), "action owner", "Asia/Kolkata")
        self.jo = Person("U0NEWYORK", pick(NEW_YORK), "action owner", "America/New_York")
        self.minute = random.Random(seed).randrange(0, 25)  # when in the hour people get round to things
        people = [self.lead, self.sponsor, self.olu, self.priya, self.jo]
        self.transcript = Transcript(
            {p.user_id: p for p in people}, {CHANNEL: "discharge-clinic"}, viewer_tz=self.lead.tz
        )
        self.clock = FixedClock(START)
        self.seen = 0
        self.progress: Progress | None = None
        self.task: Any = None

    # --- the world ------------------------------------------------------------------------------

    def play(self, folder: Path) -> None:
        with SlackStandIn(team_id=TEAM, scopes=BOT_SCOPES) as slack:
            for person in self.transcript.people.values():
                slack.add_user(person.user_id, name=person.name, tz=person.tz)
            slack.add_channel(CHANNEL, name="discharge-clinic")
            url = f"sqlite:///{folder / 'demo.db'}"
            upgrade(url)
            engine = make_engine(url)
            settings = Settings(
                slack_bot_token="xoxb-demo-not-a-real-token",
                slack_signing_secret=SECRET,
                slack_api_url=slack.base_url,
                database_url=url,
                log_level="WARNING",
                _env_file=None,
                # A simulated week: posting is not paced in real seconds (the stand-in sets no limits).
                send_per_second=1000.0,
                send_burst=1000,
                send_gap_per_conversation_seconds=0.0,
            )
            bot = create_app(settings, session_factory=make_session_factory(engine), clock=self.clock)
            try:
                self.bot, self.slack = bot, slack
                self.user = SlackDriver(bot.bolt, SECRET, slack.response_url("demo"), team_id=TEAM)
                self.walk = Walk(bot, slack, self.clock)
                with Progress(
                    TextColumn("[dim]{task.description}"),
                    BarColumn(),
                    console=self.console,
                    transient=True,
                ) as self.progress:
                    self.task = self.progress.add_task("starting", total=(END - START).total_seconds())
                    self.script()
            finally:
                bot.close()
                engine.dispose()

    def script(self) -> None:
        lead, sponsor, olu, priya, jo = self.lead, self.sponsor, self.olu, self.priya, self.jo
        self.scene("A clinic lead registers the discharge clinic")
        self.command(lead, "new")
        self.submit(
            lead,
            ids.NEW_CLINIC_MODAL,
            {
                ids.CLINIC_NAME: {"type": "plain_text_input", "value": "Discharge flow"},
                ids.CLINIC_LEAD: {"type": "users_select", "selected_user": lead.user_id},
                ids.CLINIC_SPONSOR: {"type": "users_select", "selected_user": sponsor.user_id},
                ids.CLINIC_CHANNEL: {"type": "conversations_select", "selected_conversation": CHANNEL},
                "focus_1": {"type": "plain_text_input", "value": "Discharges before noon"},
                "focus_2": {"type": "plain_text_input", "value": "Medically fit for discharge"},
                "focus_3": {"type": "plain_text_input", "value": "Pharmacy TTOs"},
            },
            "fills in the form: *Discharge flow*, sponsor, channel #discharge-clinic and 3 focus areas",
        )

        self.scene("How will we know? An indicator for the first focus area, and its recent figures")
        self.submit(
            lead,
            ids.INDICATOR_MODAL,
            {
                ids.INDICATOR_NAME: {"type": "plain_text_input", "value": "Discharges before noon"},
                ids.INDICATOR_KIND: {"type": "static_select", "selected_option": {"value": "lag"}},
                ids.INDICATOR_UNIT: {"type": "plain_text_input", "value": "%"},
                ids.INDICATOR_DIRECTION: {"type": "static_select", "selected_option": {"value": "up"}},
                ids.INDICATOR_BASELINE: {"type": "plain_text_input", "value": "18"},
                ids.INDICATOR_BASELINE_DATE: {"type": "datepicker", "selected_date": "2026-11-02"},
                ids.INDICATOR_TARGET: {"type": "plain_text_input", "value": "50"},
                ids.INDICATOR_TARGET_DATE: {"type": "datepicker", "selected_date": "2027-03-31"},
                ids.INDICATOR_REPORTER: {"type": "users_select", "selected_user": lead.user_id},
                ids.INDICATOR_CADENCE: {"type": "static_select", "selected_option": {"value": "weekly"}},
            },
            "adds a lag indicator under *Discharges before noon*: 18% on 2 Nov, target 50% by 31 Mar, "
            "reported weekly by the lead",
            private_metadata=json.dumps({"area_id": 1, "indicator_id": None, "parent": None}),
        )
        for value, day in (("21%", "9 Nov"), ("24.5%", "16 Nov"), ("23%", "23 Nov"), ("27%", "30 Nov")):
            self.command(lead, f"metric Discharges before noon {value} {day}")

        self.scene("Five actions for three people in three time zones")
        self.at(START + timedelta(minutes=15))
        self.command(lead, "add")
        plan = [
            (olu, "Audit weekend discharges against the criteria-led discharge list", "2026-12-04", 1),
            (priya, "Agree the pharmacy TTO cut-off with ward managers", "2026-12-03", 3),
            (jo, "Set up the daily board round huddle on ward 7", "2026-12-03", 1),
            (jo, "Review the medically-fit-for-discharge list with social care", "2026-12-01", 2),
            (priya, "Draft the patient transport escalation route", "2026-12-08", 1),
        ]
        for owner, title, due, area in plan:
            self.submit(
                lead,
                ids.ADD_ACTION_MODAL,
                {
                    ids.ACTION_TITLE: {"type": "plain_text_input", "value": title},
                    ids.ACTION_OWNER: {"type": "users_select", "selected_user": owner.user_id},
                    ids.ACTION_DUE: {"type": "datepicker", "selected_date": due},
                    ids.ACTION_CLINIC_AREA: {
                        "type": "static_select",
                        "selected_option": {"value": f"area:{area}"},
                    },
                },
                f"assigns *{title}* to <@{owner.user_id}>, due {due}",
            )
        audit, tto, huddle, _mffd, transport = (self.action_id(title) for _, title, _, _ in plan)

        self.scene("The week goes on: reminders arrive in each owner's working hours")
        self.pass_until(datetime(2026, 12, 1, 6, self.minute, tzinfo=UTC))
        self.press(priya, ids.ACTION_BLOCKED, tto)
        self.submit(
            priya,
            ids.BLOCKED_MODAL,
            {ids.BLOCKED_REASON: {"type": "plain_text_input", "value": "Ward managers' meeting moved to January"}},
            "says why it is blocked: _Ward managers' meeting moved to January_",
            private_metadata=json.dumps({"action_id": tto}),
        )
        self.pass_until(datetime(2026, 12, 2, 15, self.minute, tzinfo=UTC))
        self.press(jo, ids.ACTION_MORE_TIME, huddle)
        self.submit(
            jo,
            ids.MORE_TIME_MODAL,
            {
                ids.NEW_DUE: {"type": "datepicker", "selected_date": "2026-12-11"},
                ids.MORE_TIME_REASON: {"type": "plain_text_input", "value": "Ward 7 manager on leave until Monday"},
            },
            "asks to move it to Fri 11 Dec: _Ward 7 manager on leave until Monday_",
            private_metadata=json.dumps({"action_id": huddle}),
        )
        self.pass_until(datetime(2026, 12, 3, 14, self.minute, tzinfo=UTC))
        self.press(olu, ids.ACTION_DONE, audit)
        self.pass_until(datetime(2026, 12, 4, 6, self.minute, tzinfo=UTC))
        self.press(priya, ids.ACTION_ON_TRACK, transport)

        self.scene("Monday: the weekly digest with its chart; the lead hears about what nobody answers")
        self.pass_until(datetime(2026, 12, 7, 10, tzinfo=UTC))

        self.scene("Monday is also when this week's figure is due: the lead reports it from the DM")
        self.press(lead, ids.REPORT_READING, 1)
        self.submit(
            lead,
            ids.REPORT_MODAL,
            {
                ids.READING_VALUE: {"type": "plain_text_input", "value": "31%"},
                ids.READING_DATE: {"type": "datepicker", "selected_date": "2026-12-07"},
            },
            "reports *31%* for Mon 7 Dec",
            private_metadata=json.dumps({"indicator_id": 1}),
        )

        self.scene("The lead takes one escalation to a one-to-one; the other waits")
        self.pass_until(datetime(2026, 12, 8, 10, self.minute, tzinfo=UTC))
        self.press(lead, ids.ESCALATION_AGENDA, tto)

        self.scene("Still nothing on one action: the executive sponsor hears")
        self.pass_until(END - timedelta(minutes=30))

        self.scene("The lead prepares a one-to-one from the real state of the actions")
        self.at(END)
        self.command(lead, f"1on1 <@{jo.user_id}|{jo.name.lower().replace(' ', '.')}>")

    # --- what people do -------------------------------------------------------------------------

    def command(self, person: Person, text: str) -> None:
        self.did(person, f"types `/clinic {text}`")
        self.show_new(person, self.user.command(person.user_id, text, channel=CHANNEL))

    def submit(
        self, person: Person, callback_id: str, values: dict[str, Any], what: str, private_metadata: str = ""
    ) -> None:
        self.did(person, what)
        answer = self.user.submit(person.user_id, callback_id, values, private_metadata=private_metadata)
        if answer.body.get("response_action") == "errors":
            raise RuntimeError(f"the demo's form was refused: {answer.body['errors']}")
        self.show_new(person, answer)

    def did(self, person: Person, what: str) -> None:
        print_moment(self.console, self.transcript, self.transcript.did(self.clock.now(), person.user_id, what))

    def press(self, person: Person, action_id: str, value: int) -> None:
        """Press a button the bot really sent this person (in their last message that has it)."""
        label = self.button_label(person, action_id, str(value))
        self.did(person, f"presses *{label}*")
        self.show_new(person, self.user.click(person.user_id, action_id, str(value)))

    def button_label(self, person: Person, action_id: str, value: str) -> str:
        for call in reversed(self.slack.messages_to(person.user_id)):
            for block in call.params.get("blocks") or []:
                for element in block.get("elements", []) if block.get("type") == "actions" else []:
                    if element.get("action_id") == action_id and element.get("value") == value:
                        return str(element["text"]["text"])
        raise RuntimeError(f"{person.name} was never sent a {action_id} button for #{value}")

    # --- time -----------------------------------------------------------------------------------

    def at(self, when: datetime) -> None:
        self.clock.set(when)

    def pass_until(self, end: datetime) -> None:
        """Run the real scheduler pass every half hour of simulated time, showing what it sent."""
        while self.clock.now() < end:
            now = self.clock.now()
            on_the_step = now - (now - START) % STEP + STEP  # passes on the hour and half hour
            self.clock.set(min(on_the_step, end))
            self.walk.run()  # delivers what it plans before it returns
            self.show_new(None, wait=False)
            self.tick()

    def scene(self, title: str) -> None:
        self.console.rule(f"[bold]{title}")
        if self.pause:
            time.sleep(self.pause)

    def tick(self) -> None:
        assert self.progress is not None
        now = self.clock.now()
        self.progress.update(
            self.task,
            completed=(now - START).total_seconds(),
            description=f"simulating {now:%a %d %b %H:%M} UTC",
        )

    # --- what they saw --------------------------------------------------------------------------

    def show_new(self, actor: Person | None, answer: Answer | None = None, *, wait: bool = True) -> None:
        """Wait for the bot to finish what the last step started (unless it already has), then print what
        it sent."""
        calls = self.quiet() if wait else self.new_calls()
        moments: list[Moment] = []
        if answer is not None and actor is not None:
            moments += self.transcript.answered(self.clock.now(), actor.user_id, answer.body)
        moments += self.transcript.read(self.clock.now(), actor.user_id if actor else None, calls)
        for moment in moments:
            print_moment(self.console, self.transcript, moment)
        if moments and self.pause:
            time.sleep(self.pause / 2)

    def quiet(self, window: float = 0.08, timeout: float = 10.0) -> list[Call]:
        """The calls made since last time, once queued messages are out and the bot has gone quiet."""
        self.walk.settle()
        deadline = time.monotonic() + timeout
        count, since = len(self.slack.calls), time.monotonic()
        while time.monotonic() - since < window and time.monotonic() < deadline:
            time.sleep(0.01)
            if len(self.slack.calls) != count:
                count, since = len(self.slack.calls), time.monotonic()
        return self.new_calls()

    def new_calls(self) -> list[Call]:
        calls = self.slack.calls
        new, self.seen = calls[self.seen :], len(calls)
        return new

    def action_id(self, title: str) -> int:
        with self.bot.services.sessions() as session:
            return int(session.scalar(select(Action.id).where(Action.title == title)))


def run(console: Console, *, speed: float = 1.0, seed: int = 1, html_path: Path | None = None) -> DemoResult:
    started = time.monotonic()
    story = Story(console, speed=speed, seed=seed)
    console.print(
        "[bold]Clinic Bot demo[/bold]: a scripted clinic through the real app, on a simulated clock. "
        "Slack here is a [bold]local stand-in[/bold] of its Web API that records what the bot sends; "
        "nothing leaves this machine.\n"
    )
    with tempfile.TemporaryDirectory(prefix="clinic-bot-demo-") as folder:
        story.play(Path(folder))
    if html_path is not None:
        html_path.write_text(
            page(
                story.transcript,
                "Clinic Bot demo: the Discharge flow clinic",
                f"{START:%a %d %b} to {END:%a %d %b %Y}, as each person saw it, in their own time zone",
            ),
            encoding="utf-8",
        )
    return DemoResult(story.transcript, html_path, time.monotonic() - started)


def summary(result: DemoResult, echo: Callable[[str], None]) -> None:
    counts: dict[str, int] = {}
    for moment in result.transcript.moments:
        if moment.place != "did":
            counts[moment.place] = counts.get(moment.place, 0) + 1
    said = ", ".join(
        f"{counts.get(place, 0)} {word if counts.get(place, 0) == 1 else word + 's'}"
        for place, word in (("dm", "DM"), ("channel", "channel post"), ("only_you", "private answer"), ("form", "form"))
    )
    echo(f"Done in {result.seconds:.1f} s: {said}.")
    if result.html_path is not None:
        echo(f"The whole conversation, as a web page: {result.html_path.resolve()}")
