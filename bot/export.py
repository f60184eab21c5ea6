"""Exports: clinics with their focus areas, indicators and readings, and their actions with the whole
history of each, as one JSON document or as CSV files (one per table, joined by ids).

Rows are written as the database yields them (PostgreSQL streams them from a server-side cursor, `BATCH`
at a time), so how big a clinic is never decides how much memory an export takes. Chasing's own
bookkeeping (when to look next, how many nudges) is not exported: it is the bot's, not the clinic's."""

from __future__ import annotations

import csv
import json
import re
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import Column, select
from sqlalchemy.orm import Session

from bot.clock import Clock
from bot.commands import Export
from bot.errors import NotAllowed, NotFound
from storage import queries
from storage.db import SessionFactory
from storage.models import Action, ActionEvent, Clinic, FocusArea, Indicator, IndicatorReading

BATCH = 1000
FORMATS = ("csv", "json")

# What each table exports, in order; the JSON and the CSV files hold the same columns.
COLUMNS: dict[str, list[Column[Any]]] = {
    "clinics": [Clinic.__table__.c[n] for n in ("id", "name", "lead_id", "sponsor_id", "channel_id", "created_by",
                                                 "created_at")],
    "focus_areas": [FocusArea.__table__.c[n] for n in ("id", "clinic_id", "position", "name", "outcome", "why")],
    "indicators": [Indicator.__table__.c[n] for n in ("id", "clinic_id", "focus_area_id", "name", "kind", "unit",
                                                       "direction", "baseline_value", "baseline_date", "target_value",
                                                       "target_date", "reporter_id", "cadence")],
    "readings": [IndicatorReading.__table__.c[n] for n in ("id", "indicator_id", "reading_date", "value",
                                                            "reported_by", "reported_at")],
    "actions": [Action.__table__.c[n] for n in ("id", "clinic_id", "focus_area_id", "title", "notes", "source_link",
                                                 "owner_id", "assigner_id", "status", "blocked_reason", "due_date",
                                                 "due_at", "created_at", "updated_at", "last_owner_update_at",
                                                 "closed_at", "snoozed_until", "lead_escalated_at",
                                                 "sponsor_escalated_at")],
    "history": [ActionEvent.__table__.c[n] for n in ("id", "action_id", "at", "actor_id", "kind", "detail")],
}  # fmt: skip


@dataclass
class Exported:
    """How many rows of each table went out."""

    rows: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COLUMNS, 0))

    def describe(self) -> str:
        return ", ".join(f"{count:,} {table.replace('_', ' ')}" for table, count in self.rows.items())


class ExportService:
    """`/clinic export <clinic> [csv|json]`: for the clinic's lead and sponsor, files into their DM."""

    def __init__(self, session_factory: SessionFactory, clock: Clock) -> None:
        self._sessions = session_factory
        self._clock = clock

    def allowed(self, team_id: str, asked: Export, actor_id: str) -> tuple[Clinic, str]:
        """The clinic a lead or sponsor asked to export, and in what format. A clinic whose name is every
        word typed, "json" included, comes first: it is asked for as CSV."""
        with self._sessions() as session:
            clinic = queries.find_clinic_by_name(session, team_id, asked.as_typed) if asked.as_typed else None
            fmt = "csv" if clinic is not None else asked.format
            clinic = clinic or queries.find_clinic_by_name(session, team_id, asked.clinic)
            if clinic is None:
                names = ", ".join(c.name for c in queries.list_clinics(session, team_id)) or "none yet"
                raise NotFound(f"There is no clinic called \u201c{asked.clinic}\u201d. Clinics here: {names}.")
            if actor_id not in (clinic.lead_id, clinic.sponsor_id):
                raise NotAllowed(f"Only the lead and sponsor of {clinic.name} can export it.")
            return clinic, fmt

    def write(self, team_id: str, clinic_id: int, fmt: str, folder: Path) -> tuple[Path, Exported]:
        """The export as one file in `folder`: a JSON document, or the CSV files in a zip."""
        with self._sessions() as session:
            clinic = session.get(Clinic, clinic_id)
            assert clinic is not None and clinic.team_id == team_id
            stem = re.sub(r"[^a-z0-9]+", "-", clinic.name.lower()).strip("-") or "clinic"
            stem = f"{stem}-{self._clock.now():%Y-%m-%d}"
            export = ClinicExport(session, team_id, [clinic_id])
            if fmt == "json":
                path = folder / f"{stem}.json"
                with path.open("w", encoding="utf-8") as file:
                    write_json(export, file, self._clock.now())
                return path, export.exported
            tables = write_csv(export, folder / "tables")
            return zip_folder(tables.values(), folder / f"{stem}.zip"), export.exported


def choose_clinics(session: Session, team_id: str | None, names: Sequence[str]) -> tuple[str, list[Clinic]]:
    """The workspace and clinics an export covers: those named, or all of them. LookupError says why not."""
    teams = queries.teams_with_clinics(session)
    if team_id is None:
        if len(teams) > 1:
            raise LookupError(
                f"this database serves {len(teams)} workspaces: say which with --team ({', '.join(teams)})"
            )
        team_id = teams[0] if teams else ""
    if not names:
        clinics = list(queries.list_clinics(session, team_id))
        if not clinics:
            raise LookupError(f"no clinic is registered{f' in {team_id}' if team_id else ''}")
        return team_id, clinics
    found = []
    for name in names:
        clinic = queries.find_clinic_by_name(session, team_id, name)
        if clinic is None:
            known = ", ".join(c.name for c in queries.list_clinics(session, team_id)) or "none"
            raise LookupError(f"no clinic is called {name!r} (clinics: {known})")
        found.append(clinic)
    return team_id, found


class ClinicExport:
    """The rows of the clinics given (all of one workspace), table by table, each in id order."""

    def __init__(self, session: Session, team_id: str, clinic_ids: Sequence[int]) -> None:
        self._session = session
        self._team_id = team_id
        self._clinic_ids = list(clinic_ids)
        self.exported = Exported()

    def rows(self, table: str, clinic_id: int | None = None) -> Iterator[dict[str, Any]]:
        columns = COLUMNS[table]
        owner = columns[0].table
        ids = self._clinic_ids if clinic_id is None else [clinic_id]
        query = select(*columns).where(owner.c.team_id == self._team_id)
        if table == "clinics":
            query = query.where(owner.c.id.in_(ids)).order_by(owner.c.id)
        elif table == "readings":
            query = (
                query.join(Indicator)
                .where(Indicator.clinic_id.in_(ids))
                .order_by(owner.c.indicator_id, owner.c.reading_date)
            )
        elif table == "history":
            query = (
                query.join(Action).where(Action.clinic_id.in_(ids)).order_by(owner.c.action_id, owner.c.at, owner.c.id)
            )
        else:
            query = query.where(owner.c.clinic_id.in_(ids)).order_by(owner.c.id)  # fmt: skip
        for row in self._session.execute(query.execution_options(yield_per=BATCH)):
            self.exported.rows[table] += 1
            yield dict(row._mapping)


def write_json(export: ClinicExport, out: TextIO, exported_at: datetime) -> Exported:
    """One document: each clinic with its focus areas, its indicators (each with its readings) and its
    actions (each with its history)."""
    out.write("{" + _pair("exported_at", exported_at) + ', "clinics": [')
    for n, clinic in enumerate(list(export.rows("clinics"))):
        out.write(("," if n else "") + "\n" + _json(clinic)[:-1])
        out.write(', "focus_areas": ' + _json(list(export.rows("focus_areas", clinic["id"]))))
        readings = _grouped(export.rows("readings", clinic["id"]), "indicator_id")
        indicators = [{**i, "readings": readings.get(i["id"], [])} for i in export.rows("indicators", clinic["id"])]
        out.write(', "indicators": ' + _json(indicators) + ', "actions": [')
        actions = _with_history(export.rows("actions", clinic["id"]), export.rows("history", clinic["id"]))
        for m, action in enumerate(actions):
            out.write(("," if m else "") + "\n" + _json(action))
        out.write("]}")
    out.write("\n]}\n")
    return export.exported


def write_csv(export: ClinicExport, folder: Path) -> dict[str, Path]:
    """One file per table in `folder`, with a header row; empty cells for nothing, JSON for details, and
    text a spreadsheet would run as a formula kept as text (JSON documents hold text exactly as stored).
    Each starts with UTF-8's byte-order mark, without which Excel reads `£` and `Zoë` in the Windows code page."""
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for table, columns in COLUMNS.items():
        path = folder / f"{table}.csv"
        with path.open("w", newline="", encoding="utf-8-sig") as file:
            writer = csv.writer(file)
            writer.writerow([c.name for c in columns])
            writer.writerows([_cell(row[c.name]) for c in columns] for row in export.rows(table))
        written[table] = path
    return written


def zip_folder(files: Iterable[Path], path: Path) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for file in files:
            archive.write(file, arcname=file.name)
    return path


def _with_history(actions: Iterator[dict[str, Any]], events: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Both in action order: walk them side by side, so no action's history waits in memory for long."""
    pending = next(events, None)
    for action in actions:
        history = []
        while pending is not None and pending["action_id"] == action["id"]:
            history.append(pending)
            pending = next(events, None)
        yield {**action, "history": history}


def _grouped(rows: Iterable[dict[str, Any]], key: str) -> dict[Any, list[dict[str, Any]]]:
    groups: dict[Any, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(row[key], []).append(row)
    return groups


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"cannot export {type(value).__name__}")


def _json(value: Any) -> str:
    return json.dumps(value, default=_plain, ensure_ascii=False)


def _pair(key: str, value: Any) -> str:
    return f"{_json(key)}: {_json(value)}"


# A spreadsheet runs a cell starting with one of these as a formula (`=HYPERLINK(...)` in a title would
# become a live link, or worse, in whoever opens the export).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return _json(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value  # the usual neutralising prefix: shown as text, not run
    return value
