"""Whatever people type into a title, a note, a reason, a clinic or a focus area, nothing the bot sends can
ping a channel, a user group or everyone, or disguise a link: every message, answer, modal and Home tab is
checked, for text hypothesis builds from Slack's control sequences."""

from __future__ import annotations

import itertools
import json
import re
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from bot.demo.walk import Walk
from bot.views import ids
from bot.views.text import quote, unescape
from storage.models import FocusArea
from tests.conftest import ASSIGNER, LEAD, OWNER, SPONSOR
from tests.helpers import actions_in, opened_view
from tests.test_clinics import clinic_form

HOSTILE = [
    "<!channel>",
    "<!here>",
    "<!everyone>",
    "<!subteam^S0123|on-call>",
    "<https://evil.example|nhs.uk>",
    "<mailto:x@evil.example|HR>",
    "<@UINJECTED>",
    "<#CINJECTED>",
    "&lt;!here&gt;",
    "*urgent*",
    "@channel",
]
PINGS = re.compile(r"<!(?:channel|here|everyone|subteam)|<https?:|<mailto:|<@UINJECTED>|<#CINJECTED>")
SENDING = ("chat.postMessage", "chat.postEphemeral", "chat.update", "response_url", "views.open", "views.publish")

words = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=8)
hostile = (
    st.lists(st.one_of(st.sampled_from(HOSTILE), words), min_size=1, max_size=4)
    .map(lambda parts: " ".join(parts).strip())
    .filter(lambda text: any(h in text for h in HOSTILE) and len(text) <= 150)
)
_unique = itertools.count(1)


def offending(call_params: dict[str, Any]) -> list[str]:
    """Every piece of text Slack would read as mrkdwn that pings or links, and every mrkdwn text object
    not marked verbatim."""
    problems: list[str] = []

    def walk(node: Any, key: str = "") -> None:
        if isinstance(node, dict):
            if node.get("type") == "mrkdwn":
                if node.get("verbatim") is not True:
                    problems.append(f"not verbatim: {node.get('text', '')[:80]!r}")
                if PINGS.search(str(node.get("text", ""))):
                    problems.append(f"mrkdwn: {node['text'][:120]!r}")
            elif node.get("type") != "plain_text":
                for k, v in node.items():
                    walk(v, k)
        elif isinstance(node, list):
            for item in node:
                walk(item, key)
        elif key == "text" and isinstance(node, str) and PINGS.search(node):
            problems.append(f"text: {node[:120]!r}")

    if call_params.get("link_names") not in (None, False, "false", "0", 0):
        problems.append("link_names is set")
    walk({k: v for k, v in call_params.items() if k in ("text", "blocks", "view", "attachments")})
    return problems


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.filterwarnings("ignore:Glyph")  # the chart's font lacks some of the characters drawn
@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # a whole scenario per example: too slow to shrink
)
@given(name=hostile, area=hostile, title=hostile, notes=hostile, reason=hostile, command=hostile)
def test_no_user_text_can_ping_or_disguise_a_link(
    user, slack, bot, clock, db, name, area, title, notes, reason, command
):
    n = next(_unique)
    slack.reset()
    form = clinic_form(f"{name} {n}", LEAD, SPONSOR, areas=(area,))
    form[ids.FOCUS_OUTCOME[0]] = {"type": "plain_text_input", "value": f"{area} outcome"}
    user.submit(LEAD, ids.NEW_CLINIC_MODAL, form)
    area_id = db.scalar(select(func.max(FocusArea.id)))
    due = (clock.now() + timedelta(days=1)).date().isoformat()
    user.submit(
        ASSIGNER,
        ids.ADD_ACTION_MODAL,
        {
            ids.ACTION_TITLE: {"type": "plain_text_input", "value": f"{title} {n}"},
            ids.ACTION_OWNER: {"type": "users_select", "selected_user": OWNER},
            ids.ACTION_DUE: {"type": "datepicker", "selected_date": due},
            ids.ACTION_NOTES: {"type": "plain_text_input", "value": notes},
            ids.ACTION_CLINIC_AREA: {"type": "static_select", "selected_option": {"value": f"area:{area_id}"}},
        },
    )
    action = actions_in(db)[-1]
    user.click(OWNER, ids.ACTION_BLOCKED, str(action.id))
    modal = opened_view(slack)
    user.submit(
        OWNER,
        ids.BLOCKED_MODAL,
        {ids.BLOCKED_REASON: {"type": "plain_text_input", "value": reason}},
        private_metadata=modal["private_metadata"],
    )
    answers = [
        user.command(who, text).body
        for who, text in ((LEAD, "status"), (LEAD, f"show {action.id}"), (OWNER, "status"), (LEAD, command))
    ]
    user.event({"type": "app_home_opened", "user": OWNER, "channel": "D" + OWNER, "tab": "home", "event_ts": "1.1"})
    walk = Walk(bot, slack, clock)
    walk.settle()
    walk.until(clock.now() + timedelta(days=9), step=timedelta(hours=3))  # nudges, escalations, a digest
    user.command(OWNER, f"done {action.id}")
    walk.until(clock.now() + timedelta(hours=2), step=timedelta(hours=1))  # the win in the channel
    walk.settle()

    sent = [c for c in slack.calls if c.method in SENDING]
    problems = [f"{c.method}: {p}" for c in sent for p in offending(c.params)]
    problems += [f"answer: {p}" for body in answers for p in offending(body)]
    assert not problems, "\n".join(problems[:10])
    everything = json.dumps([c.params for c in sent] + answers)
    assert f"{n}" in everything  # the text did reach the messages checked
    assert {"chat.postMessage", "views.open", "views.publish"} <= {c.method for c in sent}
    assert all(body.get("blocks") for body in answers[:3]), answers[:3]  # status, show, status: in the ack


@given(text=st.text(alphabet="&<> ab", max_size=400), limit=st.integers(1, 300))
def test_quoted_text_fits_its_limit_and_never_cuts_an_escape(text, limit):
    quoted = quote(text, limit)

    assert len(quoted) <= limit
    assert "&" not in re.sub("&(amp|lt|gt);", "", quoted)
    assert not PINGS.search(quoted) and "<" not in quoted and ">" not in quoted
    assert " ".join(text.split()).startswith(unescape(quoted.removesuffix("…")))
