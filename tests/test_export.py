"""Exports round-trip: what `clinic-bot export` and `/clinic export` write, read back, equals what the
database holds, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import zipfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from storage.models import Action, ActionEvent, Clinic, FocusArea, Indicator, IndicatorReading
from tests.conftest import ASSIGNER, LEAD, OWNER
from tests.helpers import actions_in, wait_response
from tests.test_clinics import register_clinic
from tests.test_status import add

TABLES = {
    "clinics": Clinic,
    "focus_areas": FocusArea,
    "indicators": Indicator,
    "readings": IndicatorReading,
    "actions": Action,
    "history": ActionEvent,
}


def export(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", "export", *args],
        env={"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(Path(__file__).parents[1]), "DATABASE_URL": url},
        capture_output=True,
        text=True,
        timeout=120,
    )


def a_clinic_with_history(user, slack, db, bot, clock) -> int:  # type: ignore[no-untyped-def]
    """A clinic with two focus areas (one with an outcome), an indicator with three readings, and three
    actions: one done, one blocked with a reason, one open with a note of awkward text."""
    clinic_id = register_clinic(user, slack, db, areas=("Weekend discharges", "Pharmacy TTOs"))
    area = db.scalars(select(FocusArea).order_by(FocusArea.position)).first()
    area.outcome, area.why = "Half of weekend discharges before noon", "Beds free up for Monday's admissions"
    indicator = Indicator(
        team_id="T0001",
        clinic_id=clinic_id,
        focus_area_id=area.id,
        name="Discharges before noon",
        name_key="discharges before noon",
        kind="lag",
        unit="%",
        direction="up",
        baseline_value=18.0,
        baseline_date=date(2026, 11, 2),
        target_value=50.0,
        target_date=date(2027, 3, 31),
        reporter_id=LEAD,
        cadence="weekly",
        due_on=date(2026, 11, 30),
        created_by=LEAD,
        created_at=clock.now(),
    )
    db.add(indicator)
    db.flush()
    for day, value in ((date(2026, 11, 9), 21.5), (date(2026, 11, 16), 24.0), (date(2026, 11, 23), 23.25)):
        db.add(
            IndicatorReading(
                team_id="T0001",
                indicator_id=indicator.id,
                value=value,
                reading_date=day,
                reported_by=LEAD,
                reported_at=datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=9),
            )
        )
    db.commit()
    for title in ("Ring-fence a pharmacist", 'Audit "TTO" delays, & report <back>', "Weekend ward round"):
        add(user, slack, ASSIGNER, OWNER, title, "2026-12-20", clinic_id=clinic_id)
    first, second, _third = (a.id for a in actions_in(db))
    user.command(OWNER, f"done {first}")
    clock.advance(timedelta(hours=2))
    db.expire_all()
    blocked = db.get(Action, second)
    blocked.status, blocked.blocked_reason = "blocked", "Waiting for the pharmacy rota, ½ staffed"
    db.add(ActionEvent(team_id="T0001", action_id=second, at=clock.now(), actor_id=OWNER, kind="blocked",
                       detail={"reason": blocked.blocked_reason}))  # fmt: skip
    db.commit()
    bot.services.delivery.deliver_due()
    return clinic_id


def stored(db, table: str) -> list[Any]:  # type: ignore[no-untyped-def]
    model = TABLES[table]
    db.expire_all()
    order = [model.indicator_id, model.reading_date] if table == "readings" else [model.id]
    if table == "history":
        order = [model.action_id, model.at, model.id]
    return list(db.scalars(select(model).order_by(*order)))


def same(cell: Any, value: Any) -> bool:
    """An exported value (from JSON or CSV) read back as the stored value's type."""
    if value is None:
        return cell in (None, "")
    if isinstance(value, datetime):
        return datetime.fromisoformat(cell) == value
    if isinstance(value, date):
        return date.fromisoformat(cell) == value
    if isinstance(value, bool):
        return str(cell) in ("True", "true") if value else str(cell) in ("False", "false")
    if isinstance(value, float | int):
        return float(cell) == value
    if isinstance(value, dict | list):
        return (json.loads(cell) if isinstance(cell, str) else cell) == value
    return cell == value


def assert_rows_match(table: str, rows: list[dict[str, Any]], db) -> None:  # type: ignore[no-untyped-def]
    expected = stored(db, table)
    assert len(rows) == len(expected), table
    assert rows, f"the scenario stores some {table}"
    for row, thing in zip(rows, expected, strict=True):
        for column, cell in row.items():
            if column in ("readings", "history", "focus_areas", "indicators", "actions"):
                continue
            assert same(cell, getattr(thing, column)), (table, column, cell, getattr(thing, column))


def test_json_export_reads_back_as_what_was_stored(user, slack, db, bot, clock, database_url):
    a_clinic_with_history(user, slack, db, bot, clock)

    done = export(database_url, "--format", "json")

    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    [clinic] = document["clinics"]
    assert_rows_match("clinics", [clinic], db)
    assert_rows_match("focus_areas", clinic["focus_areas"], db)
    assert_rows_match("indicators", clinic["indicators"], db)
    assert_rows_match("readings", [r for i in clinic["indicators"] for r in i["readings"]], db)
    assert_rows_match("actions", clinic["actions"], db)
    assert_rows_match("history", [e for a in clinic["actions"] for e in a["history"]], db)
    for action in clinic["actions"]:
        assert all(event["action_id"] == action["id"] for event in action["history"])
    assert set(clinic["actions"][0]) == {
        "id", "clinic_id", "focus_area_id", "title", "notes", "source_link", "owner_id", "assigner_id", "status",
        "blocked_reason", "due_date", "due_at", "created_at", "updated_at", "last_owner_update_at", "closed_at",
        "snoozed_until", "lead_escalated_at", "sponsor_escalated_at", "history",
    }  # fmt: skip
    promised = {"name", "kind", "unit", "direction", "baseline_value", "baseline_date", "target_value",
                "target_date", "reporter_id", "cadence", "readings"}  # fmt: skip
    assert set(clinic["indicators"][0]) >= promised
    titles = {a["title"]: a["status"] for a in clinic["actions"]}
    assert titles['Audit "TTO" delays, & report <back>'] == "blocked"
    assert [r["value"] for r in clinic["indicators"][0]["readings"]] == [21.5, 24.0, 23.25]
    assert "exported 1 clinics, 2 focus areas, 1 indicators, 3 readings, 3 actions" in done.stderr


def test_csv_export_writes_one_file_per_table_that_reads_back(user, slack, db, bot, clock, database_url, tmp_path):
    a_clinic_with_history(user, slack, db, bot, clock)

    done = export(database_url, "--format", "csv", "--out", str(tmp_path / "out"), "--clinic", "discharge FLOW")

    assert done.returncode == 0, done.stderr
    for table in TABLES:
        with (tmp_path / "out" / f"{table}.csv").open(newline="", encoding="utf-8-sig") as file:
            assert_rows_match(table, list(csv.DictReader(file)), db)


def test_an_unknown_clinic_or_missing_folder_is_refused_and_writes_nothing(user, slack, db, database_url, tmp_path):
    register_clinic(user, slack, db)

    unknown = export(database_url, "--format", "json", "--clinic", "Nope", "--out", str(tmp_path / "x.json"))
    no_folder = export(database_url, "--format", "csv")

    assert unknown.returncode == 2 and "no clinic is called 'Nope' (clinics: Discharge flow)" in unknown.stderr
    assert no_folder.returncode == 2 and "--out FOLDER is needed for CSV" in no_folder.stderr
    assert not (tmp_path / "x.json").exists()


def test_an_output_that_cannot_be_written_or_a_database_not_there_gets_one_line(
    user, slack, db, database_url, tmp_path
):
    register_clinic(user, slack, db)
    (tmp_path / "a-file").write_text("kept")
    missing = tmp_path / "missing.db"

    results = [
        export(database_url, "--format", "csv", "--out", str(tmp_path / "a-file")),
        export(database_url, "--format", "json", "--out", str(tmp_path / "no-folder" / "x.json")),
        export(f"sqlite:///{missing}", "--format", "json"),
    ]

    for result, says in zip(results, ["cannot write", "cannot write", "clinic-bot db upgrade"], strict=True):
        assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
        [line] = result.stderr.strip().splitlines()
        assert says in line, line
    assert (tmp_path / "a-file").read_text() == "kept"
    assert not missing.exists()  # an export only reads: it creates no database


def uploaded(slack) -> list[bytes]:  # type: ignore[no-untyped-def]
    """The content of every file uploaded, once Slack was told where to share them."""
    slack.wait_for(lambda calls: any(c.method == "files.completeUploadExternal" for c in calls), timeout=10)
    return [c.params["data"] for c in slack.calls_to("upload")]


def test_the_lead_gets_the_json_export_in_a_dm_and_it_reads_back(user, slack, db, bot, clock):
    a_clinic_with_history(user, slack, db, bot, clock)
    slack.reset()

    answer = user.command(LEAD, "export discharge flow json")

    assert "Preparing the export of *Discharge flow*" in answer.text
    [data] = uploaded(slack)
    [clinic] = json.loads(data)["clinics"]
    assert_rows_match("actions", clinic["actions"], db)
    assert_rows_match("history", [e for a in clinic["actions"] for e in a["history"]], db)
    [complete] = slack.calls_to("files.completeUploadExternal")
    assert complete.params["channel_id"] == f"D{LEAD}"
    assert "3 actions" in complete.params["initial_comment"]


def test_the_csv_export_is_a_zip_of_one_file_per_table(user, slack, db, bot, clock):
    a_clinic_with_history(user, slack, db, bot, clock)
    slack.reset()

    user.command(LEAD, "export Discharge flow")

    [data] = uploaded(slack)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert sorted(archive.namelist()) == sorted(f"{t}.csv" for t in TABLES)
        for table in TABLES:
            rows = list(csv.DictReader(io.TextIOWrapper(archive.open(f"{table}.csv"), encoding="utf-8-sig")))
            assert_rows_match(table, rows, db)


@pytest.mark.parametrize(
    ("typed", "clinic", "kind"),
    [
        ("Weekly json", "Weekly json", "zip"),
        ("Weekly json json", "Weekly json", "json"),
        ("weekly JSON csv", "Weekly json", "zip"),
    ],
)
def test_a_clinic_named_like_a_format_is_exported_by_its_whole_name(user, slack, db, typed, clinic, kind):
    register_clinic(user, slack, db, name="Weekly")
    register_clinic(user, slack, db, name="Weekly json")
    slack.reset()

    answer = user.command(LEAD, f"export {typed}")

    assert f"Preparing the export of *{clinic}*" in answer.text
    [data] = uploaded(slack)
    assert data.startswith(b"PK") if kind == "zip" else json.loads(data)["clinics"][0]["name"] == clinic


def test_only_the_lead_and_sponsor_may_export_and_others_get_no_file(user, slack, db, bot, clock):
    a_clinic_with_history(user, slack, db, bot, clock)
    slack.reset()

    refused = user.command(OWNER, "export Discharge flow")
    unknown = user.command(LEAD, "export Nowhere")

    assert "Only the lead and sponsor of Discharge flow can export it" in refused.text
    assert "There is no clinic called \u201cNowhere\u201d. Clinics here: Discharge flow." in unknown.text
    bot.services.delivery.deliver_due()
    assert not slack.calls_to("files.getUploadURLExternal")


def test_when_slack_refuses_the_file_the_lead_is_told_to_try_again(user, slack, db, bot, clock):
    a_clinic_with_history(user, slack, db, bot, clock)
    slack.reset()
    slack.fail_next("files.getUploadURLExternal", error="internal_error", times=5)

    user.command(LEAD, "export Discharge flow")

    [told] = wait_response(slack)
    assert "Slack didn't take the export file just now" in told.params["text"]
    assert not slack.calls_to("files.completeUploadExternal")


def test_a_workspace_installed_without_the_dm_permission_is_told_to_reinstall_not_to_retry(user, slack, db, bot, clock):
    a_clinic_with_history(user, slack, db, bot, clock)
    slack.reset()
    slack.fail_next("conversations.open", error="missing_scope")

    user.command(LEAD, "export Discharge flow")

    [told] = wait_response(slack)
    assert "Ask your Slack admin to reinstall Clinic Bot" in told.params["text"]
    assert "try again shortly" not in told.params["text"]


def test_text_a_spreadsheet_would_run_as_a_formula_is_exported_as_text_in_csv_and_as_stored_in_json(
    user, slack, db, bot, clock
):
    from bot.views import ids

    clinic_id = a_clinic_with_history(user, slack, db, bot, clock)
    hostile = '=HYPERLINK("http://x","y")'
    values = {
        ids.ACTION_TITLE: {"type": "plain_text_input", "value": hostile},
        ids.ACTION_OWNER: {"type": "users_select", "selected_user": OWNER},
        ids.ACTION_DUE: {"type": "datepicker", "selected_date": "2026-12-20"},
        ids.ACTION_CLINIC_AREA: {"type": "static_select", "selected_option": {"value": f"clinic:{clinic_id}"}},
        ids.ACTION_NOTES: {"type": "plain_text_input", "value": "@SUM(1+1)*cmd|' /C calc'!A0"},
    }
    assert user.submit(ASSIGNER, ids.ADD_ACTION_MODAL, values).body.get("response_action") is None
    slack.reset()

    user.command(LEAD, "export Discharge flow")
    [data] = uploaded(slack)
    slack.reset()
    user.command(LEAD, "export Discharge flow json")
    [document] = uploaded(slack)

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        rows = list(csv.DictReader(io.TextIOWrapper(archive.open("actions.csv"), encoding="utf-8-sig")))
    [row] = [r for r in rows if "HYPERLINK" in r["title"]]
    assert row["title"] == "'" + hostile
    assert row["notes"] == "'@SUM(1+1)*cmd|' /C calc'!A0"
    assert [r["title"] for r in rows[:3]] == [a.title for a in actions_in(db)[:3]]  # other text as stored
    [clinic] = json.loads(document)["clinics"]
    assert [a["title"] for a in clinic["actions"] if "HYPERLINK" in a["title"]] == [hostile]


def test_the_csv_files_say_they_are_utf8_so_excel_shows_pounds_and_accents_as_typed(user, slack, db, bot, clock):
    """Excel, double-clicked, reads a CSV without a byte-order mark in the Windows code page: "½ staffed"
    would show as "Â½ staffed", a £k unit as "Â£k". Every file in the zip starts with the UTF-8 mark."""
    a_clinic_with_history(user, slack, db, bot, clock)
    slack.reset()

    user.command(LEAD, "export Discharge flow")

    [data] = uploaded(slack)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        starts = {table: archive.read(f"{table}.csv")[:3] for table in TABLES}
    assert starts == dict.fromkeys(TABLES, b"\xef\xbb\xbf")
