"""Secrets stay secret: a whole scenario's log output, at the most verbose level an operator can set,
holds neither the bot token nor the signing secret, nor the text people wrote."""

from __future__ import annotations

import io
import logging

import pytest
from rich.console import Console

from bot.demo import story
from bot.logs import configure


def test_a_whole_scenario_logs_no_token_no_secret_and_no_user_text(capsys):
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    configure("DEBUG")
    try:
        result = story.run(Console(file=io.StringIO()), speed=0, seed=1)
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
    logged = capsys.readouterr().err

    assert len(result.transcript.moments) > 40  # the scenario did run
    assert logged.count('"event": "delivered"') > 10, "expected the bot's own structured logs"
    for secret in ("xoxb-demo-not-a-real-token", story.SECRET):
        assert secret not in logged
    for written in ("Ward managers' meeting moved to January", "Audit weekend discharges"):
        assert written not in logged


@pytest.mark.parametrize("refused", ["a clinic that is gone", "a missing owner"])
def test_a_database_error_logged_holds_none_of_the_values_it_tried_to_store(bot, capsys, refused):
    """The scheduler and Bolt log the errors they catch with their traceback; a failed write of an action
    must not put its title or notes there, neither in the statement's parameters nor in PostgreSQL's own
    detail of the row it refused."""
    from datetime import UTC, date, datetime

    from sqlalchemy.exc import IntegrityError

    from storage.models import Action

    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    configure("DEBUG")
    now = datetime(2026, 11, 24, 10, tzinfo=UTC)
    try:
        with bot.services.sessions.begin() as session:
            session.add(
                Action(
                    team_id="T0001",
                    clinic_id=999_999 if refused == "a clinic that is gone" else None,
                    title="Ring Mrs Jones about bed 12",
                    notes="her son is on 07700 900123",
                    owner_id="UOWNER" if refused == "a clinic that is gone" else None,
                    assigner_id="UASSIGNER",
                    status="open",
                    due_date=date(2026, 12, 4),
                    due_at=now,
                    created_at=now,
                    updated_at=now,
                )
            )
    except IntegrityError:
        logging.getLogger("clinic_bot.scheduler").exception("pass_failed")
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
    logged = capsys.readouterr().err

    assert '"event": "pass_failed"' in logged and "IntegrityError" in logged and "INSERT INTO actions" in logged
    for value in ("Mrs Jones", "bed 12", "07700 900123", "UOWNER"):
        assert value not in logged
