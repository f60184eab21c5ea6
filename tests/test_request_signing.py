"""Only Slack gets in: unsigned, badly signed, stale and malformed requests are refused with 401 before any
work, logged in one line without their body; during a secret rotation both secrets are accepted."""

from __future__ import annotations

import json
import logging
import time
from urllib.parse import urlencode

import pytest
from pydantic import SecretStr
from slack_bolt import BoltRequest

from bot.app import create_app
from bot.demo.driver import SlackDriver, sign
from bot.settings import load_settings
from bot.signing import RequestSignatures, signature
from bot.views import ids
from storage.db import make_session_factory
from storage.models import Action
from tests.conftest import ASSIGNER, BOT_TOKEN, OWNER, SIGNING_SECRET
from tests.helpers import count

# Slack's worked example ("Verifying requests from Slack").
DOC_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
DOC_TIMESTAMP = "1531420618"
DOC_BODY = (
    "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
    "&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
    "&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
    "&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)
DOC_SIGNATURE = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
SECRET_TITLE = "Ring Mrs Example about the discharge letter"


def test_slacks_published_example_verifies():
    assert signature(DOC_SECRET, DOC_TIMESTAMP, DOC_BODY) == DOC_SIGNATURE
    checker = RequestSignatures([DOC_SECRET], now=lambda: int(DOC_TIMESTAMP) + 60)
    assert checker.refusal(DOC_BODY, DOC_TIMESTAMP, DOC_SIGNATURE) is None
    assert checker.refusal(DOC_BODY + "&x=1", DOC_TIMESTAMP, DOC_SIGNATURE) == "bad_signature"


def add_action_body() -> str:
    payload = {
        "type": "view_submission",
        "team": {"id": "T0001", "domain": "clinic"},
        "user": {"id": ASSIGNER, "team_id": "T0001"},
        "api_app_id": "A0001",
        "view": {
            "id": "V1",
            "type": "modal",
            "callback_id": ids.ADD_ACTION_MODAL,
            "private_metadata": "",
            "state": {
                "values": {
                    ids.ACTION_TITLE: {ids.ACTION_TITLE: {"type": "plain_text_input", "value": SECRET_TITLE}},
                    ids.ACTION_OWNER: {ids.ACTION_OWNER: {"type": "users_select", "selected_user": OWNER}},
                    ids.ACTION_DUE: {ids.ACTION_DUE: {"type": "datepicker", "selected_date": "2026-12-04"}},
                }
            },
        },
    }
    return urlencode({"payload": json.dumps(payload)})


def headers_for(body: str, case: str) -> dict[str, str]:
    now = int(time.time())
    good = sign(SIGNING_SECRET, body, now)
    return {
        "signed": good,
        "unsigned": {},
        "no signature": {"x-slack-request-timestamp": str(now)},
        "no timestamp": {"x-slack-signature": good["x-slack-signature"]},
        "wrong secret": sign("not-the-secret", body, now),
        "six minutes old": sign(SIGNING_SECRET, body, now - 360),
        "six minutes ahead": sign(SIGNING_SECRET, body, now + 360),
        "timestamp not a number": {**good, "x-slack-request-timestamp": "soon"},
        "timestamp with a sign": {**good, "x-slack-request-timestamp": f"+{now}"},
        "timestamp huge": {**good, "x-slack-request-timestamp": "9" * 40},
        "signature of another body": sign(SIGNING_SECRET, body + " ", now),
    }[case]


REFUSED = [
    "unsigned",
    "no signature",
    "no timestamp",
    "wrong secret",
    "six minutes old",
    "six minutes ahead",
    "timestamp not a number",
    "timestamp with a sign",
    "timestamp huge",
    "signature of another body",
]


@pytest.mark.parametrize("case", REFUSED)
def test_a_request_not_signed_by_slack_now_is_refused_before_any_work(bot, slack, db, case, caplog):
    body = add_action_body()
    caplog.set_level(logging.DEBUG)

    response = bot.bolt.dispatch(
        BoltRequest(body=body, headers={"content-type": "application/x-www-form-urlencoded", **headers_for(body, case)})
    )

    assert response.status == 401
    assert count(db, Action) == 0
    assert slack.calls == []
    refused = [r for r in caplog.records if r.getMessage() == "request_refused"]
    assert len(refused) == 1
    assert all(SECRET_TITLE not in r.getMessage() and SECRET_TITLE not in str(r.__dict__) for r in caplog.records)


def test_the_same_request_correctly_signed_goes_through(bot, db):
    body = add_action_body()
    response = bot.bolt.dispatch(
        BoltRequest(
            body=body, headers={"content-type": "application/x-www-form-urlencoded", **headers_for(body, "signed")}
        )
    )
    assert response.status == 200
    assert count(db, Action) == 1


def test_during_a_rotation_both_secrets_are_accepted_and_no_other(settings, engine, clock, slack, db):
    rotating = settings.model_copy(
        update={
            "slack_signing_secret": SecretStr("new-secret-xyz"),
            "slack_signing_secret_previous": settings.slack_signing_secret,
        }
    )
    bot = create_app(rotating, session_factory=make_session_factory(engine), clock=clock)
    try:
        for secret in ("new-secret-xyz", SIGNING_SECRET):
            assert SlackDriver(bot.bolt, secret, slack.response_url()).command(OWNER, "help").status == 200
        assert SlackDriver(bot.bolt, "third-secret", slack.response_url()).command(OWNER, "help").status == 401
    finally:
        bot.close()


def test_a_signing_secret_with_a_trailing_newline_does_not_shut_slack_out(
    slack, database_url, engine, clock, monkeypatch, tmp_path
):
    """A secret put in the environment with `echo` (a Kubernetes secret, a compose file) ends in a newline;
    kept, the bot would start cleanly, report healthy, and answer every request from Slack 401."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SIGNING_SECRET + "\n")
    monkeypatch.setenv("SLACK_BOT_TOKEN", f" {BOT_TOKEN}\r\n")
    settings = load_settings(slack_api_url=slack.base_url, database_url=database_url, _env_file=None)
    bot = create_app(settings, session_factory=make_session_factory(engine), clock=clock)
    try:
        answer = SlackDriver(bot.bolt, SIGNING_SECRET, slack.response_url()).command(OWNER, "help")
    finally:
        bot.close()

    assert answer.status == 200, answer
    assert settings.slack_bot_token.get_secret_value() == BOT_TOKEN  # type: ignore[union-attr]
