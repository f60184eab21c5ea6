"""`python -m tests.examples`: write an example weekly digest (as text) and its chart to docs/examples/,
made by the real app from a small scripted clinic, so a reader sees what leaders get."""

from __future__ import annotations

import json
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.app import BOT_SCOPES, create_app
from bot.clock import FixedClock
from bot.demo.driver import SlackDriver
from bot.demo.standin import SlackStandIn
from bot.settings import Settings
from storage.db import make_engine, make_session_factory, upgrade

OUT = Path(__file__).parents[1] / "docs" / "examples"
SECRET = "example-signing-secret"
PEOPLE = {
    "ULEE": ("Lee (clinic lead)", "Europe/London"),
    "USAM": ("Sam (sponsor)", "Europe/London"),
    "UOLU": ("Olu", "Europe/London"),
    "UPRIYA": ("Priya", "Asia/Kolkata"),
    "UJO": ("Jo", "America/New_York"),
}
ACTIONS = [
    ("UOLU", "Audit weekend discharges against the criteria-led discharge list", -12, True),
    ("UPRIYA", "Agree the pharmacy TTO cut-off with ward managers", -9, True),
    ("UJO", "Set up the daily board round huddle on ward 7", -6, False),
    ("UOLU", "Share the discharge lounge rota with bed managers", 3, False),
    ("UPRIYA", "Draft the patient transport escalation route", 6, False),
    ("UJO", "Review medically-fit-for-discharge list with social care", -2, False),
]

INDICATORS = [
    ("Discharges before noon", "%", "up", "18", "50"),
    ("Length of stay", "days", "down", "5.2", "4"),
]
READINGS = {
    "Discharges before noon": [19, 22.5, 21, 26, 29.5, 31, 30, 34],
    "Length of stay": [5.3, 5.2, 5.4, 5.1, 5.2, 5.3, 5.4, 5.6],
}


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    clock = FixedClock(datetime(2026, 10, 5, 9, tzinfo=UTC))
    with tempfile.TemporaryDirectory() as folder, SlackStandIn(scopes=BOT_SCOPES) as slack:
        for user_id, (name, tz) in PEOPLE.items():
            slack.add_user(user_id, name=name, tz=tz)
        url = f"sqlite:///{folder}/example.db"
        upgrade(url)
        engine = make_engine(url)
        settings = Settings(
            slack_bot_token="xoxb-example",
            slack_signing_secret=SECRET,
            slack_api_url=slack.base_url,
            database_url=url,
            _env_file=None,
        )
        bot = create_app(settings, session_factory=make_session_factory(engine), clock=clock)
        user = SlackDriver(bot.bolt, SECRET, slack.response_url("example"))
        user.submit(
            "ULEE",
            "clinic_new",
            {
                "clinic_name": {"type": "plain_text_input", "value": "Discharge flow"},
                "clinic_lead": {"type": "users_select", "selected_user": "ULEE"},
                "clinic_sponsor": {"type": "users_select", "selected_user": "USAM"},
                "clinic_channel": {"type": "conversations_select", "selected_conversation": "C0FLOW"},
                "focus_1": {"type": "plain_text_input", "value": "Discharges before noon"},
            },
        )
        for name, unit, direction, baseline, target in INDICATORS:  # added as `/clinic edit` adds them
            form = {
                "indicator_name": {"type": "plain_text_input", "value": name},
                "indicator_kind": {"type": "static_select", "selected_option": {"value": "lag"}},
                "indicator_unit": {"type": "plain_text_input", "value": unit},
                "indicator_direction": {"type": "static_select", "selected_option": {"value": direction}},
                "indicator_baseline": {"type": "plain_text_input", "value": baseline},
                "indicator_baseline_date": {"type": "datepicker", "selected_date": clock.now().date().isoformat()},
                "indicator_target": {"type": "plain_text_input", "value": target},
                "indicator_target_date": {"type": "datepicker", "selected_date": "2027-03-31"},
                "indicator_reporter": {"type": "users_select", "selected_user": "ULEE"},
                "indicator_cadence": {"type": "static_select", "selected_option": {"value": "weekly"}},
            }
            metadata = json.dumps({"area_id": 1, "indicator_id": None, "parent": None})
            answer = user.submit("ULEE", "indicator_form", form, private_metadata=metadata)
            assert answer.body.get("response_action") is None, answer.body
        for week in range(8):  # eight weeks of a clinic doing its work
            for n, (owner, title, due_in, _finished) in enumerate(ACTIONS):
                due = (clock.now() + timedelta(days=due_in + 14)).date().isoformat()
                user.submit(
                    "ULEE",
                    "action_add",
                    {
                        "action_title": {"type": "plain_text_input", "value": f"{title} (week {week + 1})"},
                        "action_owner": {"type": "users_select", "selected_user": owner},
                        "action_due": {"type": "datepicker", "selected_date": due},
                        "action_clinic_area": {
                            "type": "static_select",
                            "selected_option": {"value": "area:1" if n % 2 else "clinic:1"},
                        },
                    },
                )
            clock.advance(timedelta(days=5))
            for action_id in range(week * len(ACTIONS) + 1, (week + 1) * len(ACTIONS) + 1):
                if ACTIONS[(action_id - 1) % len(ACTIONS)][3] or (week < 5 and action_id % 3 == 0):
                    user.command("ULEE", f"done {action_id}")
            for name, values in READINGS.items():
                user.command("ULEE", f"metric {name} {values[week]}")
            clock.advance(timedelta(days=2))
        digest = bot.services.digests.preview("T0001", "ULEE", "Europe/London")
        assert digest is not None
        from bot.charts import weekly_chart
        from bot.demo.standin import text_in
        from bot.digest import chart_series
        from bot.views.digest import digest_message

        _text, blocks = digest_message(digest, "Europe/London")
        (OUT / "digest.txt").write_text(text_in({"blocks": blocks}) + "\n")
        (OUT / "chart.png").write_bytes(
            weekly_chart(f"{digest.title}: the last 8 weeks", digest.weeks, chart_series(digest))
        )
        bot.close()
        engine.dispose()
    print(f"wrote {OUT / 'digest.txt'} and {OUT / 'chart.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
