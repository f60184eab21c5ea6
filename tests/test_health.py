"""`/healthz` tells an operator's monitor when the scheduler has stalled and how long due messages wait."""

from __future__ import annotations

from datetime import timedelta

from scheduler import run_pass
from tests.test_delivery import queue_note


def test_a_stalled_scheduler_and_a_waiting_message_show_in_the_report(bot, clock):
    health = bot.services.health
    assert health.report() == (
        200,
        {
            "status": "ok",
            "database": "ok",
            "scheduler": "never_ran",
            "last_pass_age_seconds": None,
            "oldest_unsent_age_seconds": None,
            "unsent_after_failures": 0,
        },
    )

    run_pass(bot.services)
    assert health.report()[1]["scheduler"] == "ok"

    queue_note(bot, clock, "waiting", "x")  # a message falls due; no pass comes to send it
    clock.advance(timedelta(minutes=10))

    status, report = health.report()
    assert status == 200
    assert report["scheduler"] == "stalled" and report["last_pass_age_seconds"] == 600
    assert report["oldest_unsent_age_seconds"] == 600

    run_pass(bot.services)
    report = health.report()[1]
    assert report["scheduler"] == "ok" and report["oldest_unsent_age_seconds"] is None


def test_an_unreachable_database_is_a_503(settings, clock, tmp_path):
    from bot.app import create_app
    from storage.db import make_engine, make_session_factory

    missing = make_engine(f"sqlite:///{tmp_path}/no-such-dir/clinic.db")
    app = create_app(settings, session_factory=make_session_factory(missing), clock=clock)
    try:
        assert app.services.health.report() == (503, {"status": "unavailable", "database": "unreachable"})
    finally:
        app.close()


def test_a_message_slack_keeps_refusing_shows_though_each_retry_moves_its_due_time(bot, slack, clock):
    bot.services.delivery.stop()
    slack.fail_next("chat.postMessage", status=503, times=3)
    queue_note(bot, clock, "refused", "x")

    bot.services.delivery.deliver_due()

    report = bot.services.health.report()[1]
    assert report["oldest_unsent_age_seconds"] is None  # waiting for its retry: not due yet
    assert report["unsent_after_failures"] == 1
