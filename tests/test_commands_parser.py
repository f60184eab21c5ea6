"""Reading `/clinic` text: every subcommand, and no input that can make the parser fall over."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot import commands
from bot.errors import UserError
from bot.views.text import esc


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", commands.Help()),
        ("help", commands.Help()),
        ("HELP", commands.Help()),
        ("dance", commands.Help(unknown="dance")),
        ("new", commands.NewClinic()),
        ("add", commands.AddWithModal()),
        (
            "add <@U123|olu> Call the rota team by friday",
            commands.QuickAdd("U123", "Call the rota team", "friday"),
        ),
        (
            "add <@U123> Sign off by the board by 4 Dec",
            commands.QuickAdd("U123", "Sign off by the board", "4 Dec"),
        ),
        (
            "add   <@W9>   Chase   TTOs   BY  next friday ",
            commands.QuickAdd("W9", "Chase TTOs", "next friday"),
        ),
        ("status", commands.Status("mine", None, False)),
        ("status share", commands.Status("mine", None, True)),
        ("status overdue", commands.Status("overdue", None, False)),
        ("status <@U123|olu>", commands.Status("person", "U123", False)),
        ("status <#C123|discharge>", commands.Status("channel", "C123", False)),
        ("status Discharge flow share", commands.Status("clinic", "Discharge flow", True)),
        ("done 12", commands.Done(12)),
        ("done #12", commands.Done(12)),
        ("close 7", commands.Done(7)),
        ("show 3", commands.Show(3)),
    ],
)
def test_parses_each_subcommand(text, expected):
    assert commands.parse(text) == expected


@pytest.mark.parametrize("text", ["done", "done twelve", "show -1", "add olu Call by friday", "add <@U1> Call them"])
def test_unreadable_requests_explain_how_to_write_them(text):
    with pytest.raises(UserError) as caught:
        commands.parse(text)
    assert "/clinic" in caught.value.message


def test_digest_times_given_without_settings_are_refused_with_the_command_that_sets_them():
    with pytest.raises(UserError) as caught:
        commands.parse("digest friday 16:00")
    assert "`/clinic digest settings friday 16:00`" in caught.value.message
    assert "Nothing was changed" in caught.value.message
    assert commands.parse("digest") == commands.Digest(None)
    assert commands.parse("digest settings friday 16:00") == commands.Digest("friday 16:00")


@given(st.text(max_size=300))
def test_any_text_parses_or_raises_a_user_error(text):
    try:
        commands.parse(text)
    except UserError as exc:
        assert exc.message


# Words with characters Slack escapes, as many as take the text past the limit, as typed or only as escaped.
_WORDS = st.lists(st.sampled_from(["A&E", "<4h", ">12h", "&", "&amp;", "waits"]), min_size=50, max_size=150)


@given(_WORDS.map(" ".join))
def test_a_metric_is_read_as_typed_up_to_its_limit_however_slack_escaped_it(typed):
    """Slack sends a typed `&`, `<` or `>` as `&amp;`, `&lt;` or `&gt;`: the limit counts what was typed, and
    its cut never leaves half an escape behind."""
    assert commands.parse(f"metric {esc(typed)}") == commands.Metric(" ".join(typed.split())[: commands.METRIC_LIMIT])
