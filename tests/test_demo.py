"""`clinic-bot demo`: the whole story through the real app, what it prints, the page it writes, and the wall
between the demo's stand-ins and the running bot."""

from __future__ import annotations

import ast
import io
import re
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from bot.demo.render import _HTML as HTML_MARKUP
from bot.demo.render import mrkdwn, page
from bot.demo.story import run
from bot.demo.transcript import Moment, Person, Transcript

ROOT = Path(__file__).parents[1]


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory):
    html = tmp_path_factory.mktemp("demo") / "demo.html"
    out = io.StringIO()
    result = run(Console(file=out, width=100, highlight=False), speed=0, seed=1, html_path=html)
    return result, out.getvalue(), html


def seen(result, name: str, place: str | None = None) -> list[Moment]:
    return [
        m
        for m in result.transcript.moments
        if m.place != "did" and (m.seen_by.name if m.seen_by else "everyone") == name and place in (None, m.place)
    ]


def words(moment: Moment) -> str:
    from bot.demo.standin import text_in

    return moment.text + "\n" + text_in(moment.blocks)


def test_the_story_reaches_every_role_with_what_the_issue_promises(story):
    result, _printed, _html = story
    cast = {p.role: p.name for p in result.transcript.people.values() if p.role != "action owner"}
    lead, sponsor = cast["clinic lead"], cast["executive sponsor"]
    lead_dms = "\n".join(words(m) for m in seen(result, lead, "dm"))
    sponsor_dms = "\n".join(words(m) for m in seen(result, sponsor, "dm"))

    assert "Needs your help" in lead_dms and "3 working days overdue" in lead_dms
    assert "Escalated to you" in sponsor_dms and "7 working days overdue" in sponsor_dms
    for reader in (lead, sponsor):
        digests = [m for m in seen(result, reader, "dm") if "Weekly digest" in m.text]
        charts = [m for m in seen(result, reader, "dm") if m.image is not None]
        assert len(digests) == 1 and len(charts) == 1
        assert charts[0].image.startswith(b"\x89PNG")
    [win] = seen(result, "everyone", "channel")
    assert "finished" in words(win) and "Audit weekend discharges" in words(win)
    agenda = seen(result, lead, "only_you")[-1]
    assert "One-to-one agenda" in words(agenda) and "how committed are you" in words(agenda)


def test_owners_are_nudged_at_nine_in_their_own_time_zone(story):
    result, _printed, _html = story
    for person in result.transcript.people.values():
        for moment in seen(result, person.name, "dm"):
            if "Overdue" in words(moment) and "was due" in words(moment):
                assert person.local(moment.at).endswith("09:00"), (person.name, person.local(moment.at))


def test_the_terminal_shows_who_when_what_and_which_buttons(story):
    result, printed, html = story
    lead = next(p for p in result.transcript.people.values() if p.role == "clinic lead")
    assert f"{lead.name} types /clinic new" in printed
    assert "Mon 07 Dec 09:00 London" in printed and "Weekly digest: Discharge flow" in printed
    assert "[ Done ]  [ On track ]  [ Blocked ]  [ Need more time ]  [ History ]" in printed
    assert "[ Nudge again ]  [ Extend deadline ]  [ Reassign ]  [ Add to next 1:1 ]" in printed
    flat = " ".join(printed.split())
    assert "Discharges before noon: latest 27% (Mon 30 Nov), baseline 18% (Mon 2 Nov)" in flat  # the digest
    assert "Time to report Discharges before noon" in flat and "[ Report a reading ]" in printed
    assert "local stand-in" in " ".join(printed.split())
    assert html.read_text(encoding="utf-8").startswith("<!doctype html>")


def test_the_seed_changes_the_cast_not_the_story(story, tmp_path):
    result, _printed, _html = story
    other = run(Console(file=io.StringIO()), speed=0, seed=2)
    names = lambda r: sorted(p.name for p in r.transcript.people.values())  # noqa: E731
    shape = lambda r: [(m.place, m.seen_by.role if m.seen_by else "") for m in r.transcript.moments]  # noqa: E731
    assert names(other) != names(result)
    assert shape(other) == shape(result)


def test_the_command_prints_the_story_and_where_the_page_is(tmp_path):
    page_path = tmp_path / "story.html"
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "demo", "--speed", "0", "--html", str(page_path)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "SLACK_BOT_TOKEN": "not-a-token", "COLUMNS": "100"},
    )
    assert done.returncode == 0, done.stderr
    assert "Weekly digest" in done.stdout
    assert str(page_path) in done.stdout.replace("\n", "")
    assert page_path.exists()
    assert not list(tmp_path.glob("*.db")), "the demo's database lives in a temporary folder"


@pytest.mark.parametrize("speed", ["fast", "-1", "5000"])
def test_a_bad_speed_is_refused_with_the_reason(speed, tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "demo", "--speed", speed, "--no-html"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert done.returncode == 2 and "is not a speed between 0 and 1000" in done.stderr


def test_staff_text_cannot_inject_markup_into_the_page():
    lee = Person("U1", "Lee <b>Adams</b>", "clinic lead", "Europe/London")
    transcript = Transcript({"U1": lee}, {}, viewer_tz="Europe/London")
    from datetime import UTC, datetime

    transcript.did(datetime(2026, 12, 1, tzinfo=UTC), "U1", "assigns *<script>alert(1)</script>*")
    transcript.moments.append(
        Moment(
            datetime(2026, 12, 1, tzinfo=UTC),
            lee,
            "dm",
            "x",
            [
                {
                    "type": "section",
                    "text": {
                        "type": "mrkdwn",
                        "text": "&lt;img src=x onerror=alert(1)&gt; <javascript:alert(1)|click>",
                    },
                }
            ],
        )
    )
    written = page(transcript, "t", "s")
    assert "<script>" not in written and "<img src=x" not in written and "<b>Adams" not in written
    assert 'href="javascript' not in written


def test_mrkdwn_shows_mentions_links_and_styles():
    shown = mrkdwn(
        "*Done* by <@U1> in <#C1|x>: see <https://example.org|the list> &amp; _more_ :tada:",
        {"U1": "Lee"},
        {"C1": "discharge"},
        HTML_MARKUP,
    )
    assert shown == (
        '<b>Done</b> by <span class="mention">@Lee</span> in <span class="mention">#discharge</span>: see '
        '<a href="https://example.org" rel="noopener noreferrer">the list</a> &amp; <i>more</i> 🎉'
    )


# --- the wall: nothing the running bot loads can reach the stand-ins ---------------------------------


def imports_of(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_only_the_demo_command_imports_the_demo_package():
    importers = []
    for package in ("bot", "handlers", "scheduler", "storage"):
        for path in (ROOT / package).rglob("*.py"):
            if "demo" in path.relative_to(ROOT).parts:
                continue
            if any(re.match(r"bot\.demo\b", name) for name in imports_of(path)):
                importers.append(str(path.relative_to(ROOT)))
    assert importers == ["bot/cli.py"]
    cli = (ROOT / "bot" / "cli.py").read_text(encoding="utf-8")
    [function] = [n for n in ast.parse(cli).body if isinstance(n, ast.FunctionDef) and "bot.demo" in ast.unparse(n)]
    assert function.name == "_demo"


def test_the_running_bot_never_loads_the_demo():
    probe = (
        "import sys\n"
        "from bot.cli import _parser\n"
        "from bot.app import create_app\n"
        "from bot.web import create_web_app\n"
        "import scheduler, handlers\n"
        "_parser().parse_args(['run'])\n"
        "print(sorted(m for m in sys.modules if m.startswith('bot.demo')))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
