"""Secrets stay secret: a whole scenario's log output, at the most verbose level an operator can set,
holds neither the bot token nor the signing secret, nor the text people wrote."""

from __future__ import annotations

import io
import logging

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
