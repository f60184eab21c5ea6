"""The golden thread in the weekly digest: each focus area's outcome, its actions, and each indicator's
latest reading against baseline and target with a verdict; an area whose indicators worsen while all
its actions are done is flagged; the chart grows a panel per indicator."""

from __future__ import annotations

import struct
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.demo.walk import Walk
from bot.views import ids
from storage import queries
from storage.models import Clinic, FocusArea, Indicator, IndicatorReading
from tests.conftest import ASSIGNER, LEAD, OWNER, SPONSOR
from tests.helpers import actions_in, text_of
from tests.test_clinics import register_clinic

MONDAY = datetime(2026, 11, 30, 10, tzinfo=UTC)


def indicator(db, area: FocusArea, name: str, unit: str, direction: str, baseline: float, target: float,  # type: ignore[no-untyped-def]
              readings: list[float], reporter: str = LEAD) -> None:  # fmt: skip
    row = Indicator(
        team_id="T0001", clinic_id=area.clinic_id, focus_area_id=area.id, name=name, name_key=name.lower(),
        kind="lag", unit=unit, direction=direction, baseline_value=baseline, baseline_date=date(2026, 10, 26),
        target_value=target, target_date=date(2027, 3, 31), reporter_id=reporter, cadence="weekly",
        due_on=date(2026, 12, 7), created_by=LEAD, created_at=datetime(2026, 10, 26, tzinfo=UTC),
    )  # fmt: skip
    db.add(row)
    db.flush()
    for n, value in enumerate(readings):
        day = date(2026, 11, 2) + timedelta(weeks=n)
        db.add(IndicatorReading(team_id="T0001", indicator_id=row.id, value=value, reading_date=day, reported_by=LEAD,
                                reported_at=datetime.combine(day, datetime.min.time(), tzinfo=UTC)))  # fmt: skip


def add_to_area(user, owner: str, title: str, area_id: int) -> None:  # type: ignore[no-untyped-def]
    answer = user.submit(
        ASSIGNER,
        ids.ADD_ACTION_MODAL,
        {
            ids.ACTION_TITLE: {"type": "plain_text_input", "value": title},
            ids.ACTION_OWNER: {"type": "users_select", "selected_user": owner},
            ids.ACTION_DUE: {"type": "datepicker", "selected_date": "2026-12-10"},
            ids.ACTION_CLINIC_AREA: {"type": "static_select", "selected_option": {"value": f"area:{area_id}"}},
        },
    )
    assert answer.body.get("response_action") is None, answer.body


def clinic_with_indicators(user, slack, db, bot, clock) -> Walk:  # type: ignore[no-untyped-def]
    """Area 1 (noon discharges) improves with work still open; area 2 (length of stay) worsens though its
    one action is done; area 3 has an indicator with a single reading, reported by the owner."""
    register_clinic(user, slack, db, lead=LEAD, sponsor=SPONSOR, areas=("Noon discharges", "Length of stay", "TTOs"))
    noon, stay, ttos = db.scalars(select(FocusArea).order_by(FocusArea.position)).all()
    noon.outcome = "Half of discharges before noon"
    indicator(db, noon, "Discharges before noon", "%", "up", 18, 50, [21.5, 24, 27])
    indicator(db, stay, "Length of stay", "days", "down", 5.0, 4.0, [5.1, 5.4, 5.9])
    indicator(db, ttos, "TTO turnaround", "hours", "down", 6, 2, [5.5], reporter=OWNER)
    db.commit()
    add_to_area(user, OWNER, "Board round at 8:30", noon.id)
    add_to_area(user, OWNER, "Discharge to assess pathway", stay.id)
    walk = Walk(bot, slack, clock)
    walk.settle()
    user.command(OWNER, f"done {actions_in(db)[1].id}")
    return walk


def area_lines(text: str, name: str) -> str:
    """The digest's lines about one focus area, up to the next area."""
    start = text.index(f"• *{name}*")
    end = text.find("\n• ", start + 1)
    return text[start : end if end != -1 else None]


def test_each_area_shows_its_outcome_actions_and_indicators_with_a_verdict(user, slack, db, bot, clock):
    clinic_with_indicators(user, slack, db, bot, clock)
    clock.set(MONDAY)

    text = user.command(LEAD, "digest").text

    noon = area_lines(text, "Noon discharges")
    assert "_Half of discharges before noon_" in noon and "actions: 1 open, 0 done" in noon
    assert "*Discharges before noon*: latest 27% (" in noon
    assert "baseline 18%" in noon and "target 50% by" in noon and "improving" in noon
    assert ":warning:" not in noon
    stay = area_lines(text, "Length of stay")
    assert "actions: 0 open, 1 done" in stay and "worsening" in stay
    assert ":warning: _worsening although every linked action is done" in stay
    assert "too few readings to say" in area_lines(text, "TTOs")


def test_an_area_counts_its_actions_done_long_before_the_weeks_charted(user, slack, db, bot, clock):
    """Three months on, the chart's eight weeks no longer reach the day "Length of stay"'s one action was
    done: it still counts, and its worsening indicator still asks whether these were the right actions."""
    clinic_with_indicators(user, slack, db, bot, clock)
    clock.set(MONDAY + timedelta(weeks=12))

    stay = area_lines(user.command(LEAD, "digest").text, "Length of stay")

    assert "actions: 0 open, 1 done" in stay
    assert ":warning: _worsening although every linked action is done" in stay


def test_the_digest_chart_has_a_panel_per_indicator(user, slack, db, bot, clock):
    walk = clinic_with_indicators(user, slack, db, bot, clock)

    walk.until(MONDAY)

    [upload] = [c for c in slack.calls_to("upload")][-1:]
    width, height = struct.unpack(">II", upload.params["data"][16:24])
    assert (width, height) == (770, 352 + 2 * 253)  # the weekly chart and two rows of two panels


@pytest.fixture
def drawn(monkeypatch) -> list[tuple[str, bool]]:
    """Each line of text painted on a chart from now on, and whether it was drawn as maths."""
    from matplotlib.backends.backend_agg import RendererAgg

    lines: list[tuple[str, bool]] = []
    paint = RendererAgg.draw_text

    def draw_text(self, gc, x, y, s, prop, angle, ismath=False, mtext=None):  # type: ignore[no-untyped-def]
        lines.append((s, bool(ismath)))
        return paint(self, gc, x, y, s, prop, angle, ismath, mtext)

    monkeypatch.setattr(RendererAgg, "draw_text", draw_text)
    return lines


def test_dollar_signs_in_a_clinics_or_an_indicators_name_are_drawn_on_the_chart_as_typed(
    user, slack, db, bot, clock, drawn
):
    """The chart's drawing library reads text between two `$` as maths: "Bank $ vs agency $ per shift" was
    drawn as "Bank vsagencyper shift" in italics, and with a `%` between the two `$` the chart was never
    drawn nor uploaded. Every piece of text goes onto the chart as the letters typed."""
    register_clinic(user, slack, db, lead=LEAD, sponsor=SPONSOR, name="Bank $ & agency $", areas=("Staffing",))
    [area] = db.scalars(select(FocusArea)).all()
    indicator(db, area, "Bank $ vs agency $ per shift", "", "down", 130, 60, [120, 110, 100])
    indicator(db, area, "Agency $ as % of bank $", "%", "down", 40, 10, [35, 30, 28])
    db.commit()
    walk = Walk(bot, slack, clock)
    walk.settle()

    walk.until(MONDAY)

    uploads = slack.calls_to("upload")
    assert len(uploads) == 2 and all(u.params["data"].startswith(b"\x89PNG") for u in uploads)  # lead, sponsor
    assert ("Bank $ & agency $: the last 8 weeks", False) in drawn, drawn
    titles = [(s.split(":")[0], ismath) for s, ismath in drawn]
    assert ("Bank $ vs agency $ per shift", False) in titles, drawn
    assert ("Agency $ as % of bank $ (%)", False) in titles, drawn


def test_two_indicators_whose_long_names_share_a_start_get_panels_one_can_tell_apart(drawn):
    """Names may be 80 characters; a panel's title kept the first 40, with no sign it was cut: "Proportion of
    patients discharged before noon (medical wards)" and "... (surgical wards)" had the same title. The
    whole name is shown, on two lines when it needs them."""
    from bot.charts import Series, weekly_chart

    weeks = [(date(2026, 10, 5) + timedelta(weeks=n), 3, 1, n) for n in range(8)]
    medical = "Proportion of patients discharged before noon (medical wards)"
    surgical = "Proportion of patients discharged before noon (surgical wards)"

    def panel(name: str, values: list[float]) -> Series:
        readings = [(date(2026, 11, 2) + timedelta(weeks=n), value) for n, value in enumerate(values)]
        return Series(name, "%", readings, (date(2026, 10, 26), 18.0), (date(2027, 3, 31), 50.0), "improving")

    right = weekly_chart("Discharge flow", weeks, [panel(medical, [20, 24, 27]), panel(surgical, [30, 34, 40])])
    lines = [line for line, _ in drawn]
    swapped = weekly_chart("Discharge flow", weeks, [panel(surgical, [20, 24, 27]), panel(medical, [30, 34, 40])])

    assert right != swapped, "the medical and surgical panels look the same"
    titles = [" ".join(lines[n : n + 2]) for n, line in enumerate(lines) if line.startswith("Proportion")]
    assert titles == [f"{medical} (%): improving", f"{surgical} (%): improving"], lines  # whole, on two lines


def test_a_one_to_one_brings_the_indicators_they_report_or_their_actions_serve(user, slack, db, bot, clock):
    clinic_with_indicators(user, slack, db, bot, clock)
    clock.set(MONDAY)

    text = user.command(LEAD, f"1on1 <@{OWNER}>").text

    indicators = text[text.index("How will we know? Their indicators") :]
    assert "*Discharges before noon* (Discharge flow › Noon discharges (outcome: _Half of" in indicators
    assert "improving" in indicators
    assert f"*TTO turnaround* (Discharge flow › TTOs), reported by <@{OWNER}>" in indicators
    assert "Length of stay" not in indicators  # their one action there is done: nothing to discuss


def test_a_one_to_one_lists_every_indicator_they_report_the_worsening_first(user, slack, db, clock):
    register_clinic(user, slack, db, lead=LEAD, sponsor=SPONSOR, areas=("Flow",))
    [area] = db.scalars(select(FocusArea)).all()
    for name in "ABCDEF":
        indicator(db, area, f"Ind {name}", "%", "up", 18, 50, [21.5, 24, 27], reporter=OWNER)
    indicator(db, area, "Ind Z", "days", "down", 5.0, 4.0, [5.1, 5.4, 5.9], reporter=OWNER)
    db.commit()
    clock.set(MONDAY)

    text = user.command(LEAD, f"1on1 <@{OWNER}>").text

    indicators = text[text.index("How will we know? Their indicators") :]
    assert all(f"*Ind {name}*" in indicators for name in "ABCDEFZ")
    assert indicators.index("*Ind Z*") < indicators.index("*Ind A*")


def test_a_one_to_one_with_long_names_keeps_its_indicators_within_slacks_limits(user, slack, db, clock):
    """Names as long as the forms allow, full of characters Slack escapes, on five indicators."""
    from bot.clinics import NAME_LIMIT, OUTCOME_LIMIT
    from bot.indicators import NAME_LIMIT as INDICATOR_NAME_LIMIT

    register_clinic(user, slack, db, lead=LEAD, sponsor=SPONSOR, areas=("Flow",))
    [area] = db.scalars(select(FocusArea)).all()
    area.clinic.name = ("A&B<C> " * 20)[:NAME_LIMIT]
    area.name = ("Flow & <ward> " * 20)[:NAME_LIMIT]
    area.outcome = ("Fewer & <later> discharges " * 30)[:OUTCOME_LIMIT]
    for n in range(5):
        name = f"{n} " + ("Beds & <chairs> " * 10)[: INDICATOR_NAME_LIMIT - 2]
        indicator(db, area, name, "%", "up", 18, 50, [21.5, 24], reporter=OWNER)
    db.commit()
    clock.set(MONDAY)

    answer = user.command(LEAD, f"1on1 <@{OWNER}>")

    assert "How will we know? Their indicators" in answer.text
    assert all(len(b["text"]["text"]) <= 3000 for b in answer.body["blocks"] if b["type"] == "section")


def test_each_indicator_brings_its_own_latest_readings_oldest_first(user, slack, db):
    """The digest and the one-to-one read every indicator's readings in one query: each indicator must
    get its own latest twelve, oldest first, and none of another's."""
    register_clinic(user, slack, db, lead=LEAD, sponsor=SPONSOR, areas=("Noon discharges", "Length of stay"))
    noon, stay = db.scalars(select(FocusArea).order_by(FocusArea.position)).all()
    indicator(db, noon, "Discharges before noon", "%", "up", 18, 50, [float(n) for n in range(20)])
    indicator(db, stay, "Length of stay", "days", "down", 5.0, 4.0, [5.1, 5.4])
    db.commit()
    discharges, stay_length = db.scalars(select(Indicator.id).order_by(Indicator.name_key)).all()
    latest = queries.latest_readings(db, "T0001", [discharges, stay_length], limit=12)
    assert [r.value for r in latest[discharges]] == [float(n) for n in range(8, 20)]
    assert [r.value for r in latest[stay_length]] == [5.1, 5.4]


def full_clinic(user, slack, db, name: str, indicator_name: str = "Discharges before noon", each: int = 4) -> None:  # type: ignore[no-untyped-def]
    """A clinic with as many focus areas as it may have, each with `each` indicators."""
    register_clinic(user, slack, db, lead=LEAD, sponsor=SPONSOR, name=name,
                    areas=("Noon discharges", "Length of stay", "Pharmacy TTOs", "Weekend flow"))  # fmt: skip
    clinic_id = db.scalar(select(Clinic.id).where(Clinic.name == name))
    areas = db.scalars(select(FocusArea).where(FocusArea.clinic_id == clinic_id).order_by(FocusArea.position)).all()
    for area in areas:
        for n in range(each):
            indicator(db, area, f"{indicator_name} {area.position}.{n}", "minutes", "down", 50, 18, [45, 40, 35])
    db.commit()


def test_a_clinic_with_four_areas_of_four_indicators_shows_every_one_in_the_digest(user, slack, db, clock):
    full_clinic(user, slack, db, "Discharge flow")
    clock.set(MONDAY)

    answer = user.command(LEAD, "digest")

    for area in ("Noon discharges", "Length of stay", "Pharmacy TTOs", "Weekend flow"):
        assert "latest 35 minutes" in area_lines(answer.text, area)
    assert all(f"*Discharges before noon {a}.{n}*" in answer.text for a in range(1, 5) for n in range(4))
    assert "more:" not in answer.text[answer.text.index("Focus areas") :]
    assert all(len(b.get("text", {}).get("text", "")) <= 3000 for b in answer.body["blocks"])


def test_a_combined_digest_shows_every_area_until_the_message_is_full_then_counts_the_rest(user, slack, db, clock):
    """Twelve clinics of four areas, each with as many indicators as it may have, named as long as the form
    allows: more than one message can carry, so the last section says how many areas are left out and
    where to see them."""
    from bot.indicators import NAME_LIMIT
    from bot.reporting import MAX_PER_AREA

    for n in range(12):
        long_name = ("Beds & <chairs> " * 10)[: NAME_LIMIT - 4]
        full_clinic(user, slack, db, f"Clinic {n:02d}", indicator_name=long_name, each=MAX_PER_AREA)
    clock.set(MONDAY)

    answer = user.command(LEAD, "digest")

    blocks = answer.body["blocks"]
    assert len(blocks) <= 50
    assert all(len(b.get("text", {}).get("text", "")) <= 3000 for b in blocks)
    lines = answer.text[answer.text.index("Focus areas") :].splitlines()
    shown = sum(line.startswith("• *") for line in lines)
    assert sum(line.startswith("   ◦ ") for line in lines) == MAX_PER_AREA * shown  # no area cut short
    [more] = [b["text"]["text"] for b in blocks if "more focus areas" in b.get("text", {}).get("text", "")]
    left_out = int(more.rsplit("…and ", 1)[1].split()[0])
    assert left_out > 0 and shown + left_out == 48
    assert "`/clinic digest settings separate`" in more


def test_the_digest_chart_has_a_panel_for_each_of_ten_indicators(user, slack, db, bot, clock):
    register_clinic(user, slack, db, lead=LEAD, sponsor=SPONSOR, areas=("Noon discharges", "Length of stay"))
    for area in db.scalars(select(FocusArea).order_by(FocusArea.position)).all():
        for n in range(5):
            indicator(db, area, f"Indicator {area.position}.{n}", "", "up", 18, 50, [21.5, 24, 27])
    db.commit()
    walk = Walk(bot, slack, clock)
    walk.settle()

    walk.until(MONDAY)

    [upload] = [c for c in slack.calls_to("upload")][-1:]
    width, height = struct.unpack(">II", upload.params["data"][16:24])
    assert (width, height) == (770, 352 + 5 * 253)  # the weekly chart and five rows of two panels
    [digest] = [t for t in walk.to(LEAD, digests=True) if "Weekly digest" in text_of(t.call)]
    assert "without a panel" not in text_of(digest.call)


def test_a_combined_digest_names_the_indicators_its_chart_has_no_panel_for(user, slack, db, bot, clock):
    """Two clinics of four areas with six indicators each: 48 indicators, panels for the first 40 (every
    indicator one clinic may have); the digest names the other eight."""
    full_clinic(user, slack, db, "Discharge flow", indicator_name="Flow", each=6)
    full_clinic(user, slack, db, "Theatre utilisation", indicator_name="Theatre", each=6)
    user.command(LEAD, "digest settings combined")
    walk = Walk(bot, slack, clock)
    walk.settle()

    walk.until(MONDAY)

    sizes = sorted(struct.unpack(">II", c.params["data"][16:24]) for c in slack.calls_to("upload"))
    # The sponsor's two digests, one per clinic: 24 panels each. The lead's combined one: 40 in 20 rows.
    assert sizes == [(770, 352 + 12 * 253)] * 2 + [(770, 352 + 20 * 253)]
    [digest] = [t for t in walk.to(LEAD, digests=True) if "Weekly digest" in text_of(t.call)]
    note = text_of(digest.call)[text_of(digest.call).index("The chart has a panel for") :]
    assert note.startswith("The chart has a panel for 40 of 48 indicators; without a panel:")
    left_out = ["Theatre 3.4", "Theatre 3.5", *(f"Theatre 4.{n}" for n in range(6))]
    assert note.index(", ".join(f"*{name}*" for name in left_out)) > 0, note
    assert "*Theatre 3.3*" not in note and "*Flow" not in note


def test_a_panel_with_a_single_reading_dates_its_axis_by_that_reading(user, slack, db, bot, clock, drawn):
    """TTO turnaround has one reading, on 2 November. Its panel's axis is labelled "01 Jan" twice (the
    locator falls back to years around a single date), so the reader sees a point dated nowhere near it."""
    walk = clinic_with_indicators(user, slack, db, bot, clock)

    walk.until(MONDAY)

    lines = [line for line, _ in drawn]
    title = max(n for n, line in enumerate(lines) if line.startswith("TTO turnaround"))
    legend = max(n for n, line in enumerate(lines[:title]) if line in ("target", "baseline", "readings"))
    labels = [line for line in lines[legend + 1 : title] if not line.replace(".", "").isdigit()]
    dates = [datetime.strptime(f"{label} 2026", "%d %b %Y").date() for label in labels]
    assert dates and all(abs((day - date(2026, 11, 2)).days) <= 31 for day in dates), labels


def test_an_indicator_in_millions_is_labelled_in_millions_on_its_panel(user, slack, db, bot, clock, drawn):
    """Agency spend of £2,400,000 falling to £2,210,000: the panel's axis reads 1.8 to 2.4, with a lone "1e6"
    in its corner, so a sponsor reads £2.4 where the figure is £2.4 million."""
    register_clinic(user, slack, db, lead=LEAD, sponsor=SPONSOR, areas=("Staffing",))
    [area] = db.scalars(select(FocusArea)).all()
    indicator(db, area, "Agency spend", "£", "down", 2_400_000, 1_800_000, [2_350_000, 2_300_000, 2_210_000])
    db.commit()
    walk = Walk(bot, slack, clock)
    walk.settle()

    walk.until(MONDAY)

    lines = [line for line, _ in drawn]
    title = max(n for n, line in enumerate(lines) if line.startswith("Agency spend"))
    legend = max(n for n, line in enumerate(lines[:title]) if line == "done that week")
    panel = lines[legend + 1 : title]
    assert "1e6" not in panel, panel
    assert "2.4" not in panel, panel
