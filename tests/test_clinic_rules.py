"""Clinic rules that the registration modal cannot show on its own (it only has four inputs)."""

from __future__ import annotations

import pytest

from bot.clinics import NewClinic
from bot.errors import UserError
from bot.people import Person
from bot.settings import SettingsError, load_settings
from tests.conftest import LEAD


def test_a_fifth_focus_area_is_refused_with_the_reason(bot):
    with pytest.raises(UserError, match="at most 4 focus areas") as caught:
        bot.services.clinics.register(
            NewClinic(
                team_id="T0001",
                name="Flow",
                lead_id=LEAD,
                created_by=LEAD,
                focus_areas=["a", "b", "c", "d", "e"],
            ),
            Person(LEAD, "Lee", "UTC"),
        )
    assert caught.value.field == "focus"
    assert bot.services.clinics.list("T0001") == []


def test_clinics_of_one_workspace_are_invisible_to_another(bot):
    lead = Person(LEAD, "Lee", "UTC")
    for team_id in ("T0001", "T0002"):
        bot.services.clinics.register(NewClinic(team_id=team_id, name="Flow", lead_id=LEAD, created_by=LEAD), lead)

    assert [c.team_id for c in bot.services.clinics.list("T0001")] == ["T0001"]
    assert [c.team_id for c in bot.services.clinics.list("T0002")] == ["T0002"]


def test_the_lead_tunes_how_their_clinic_is_chased(user, slack, db):
    from tests.test_clinics import register_clinic

    register_clinic(user, slack, db)

    shown = user.command(LEAD, "chase Discharge flow")
    changed = user.command(LEAD, "chase Discharge flow nudges=2 lead_after=5 reminder=off")
    refused = user.command("UOTHER", "chase Discharge flow nudges=9")
    bad = user.command(LEAD, "chase Discharge flow lead_after=lots")
    superscript = user.command(LEAD, "chase Discharge flow nudges=\u00b2")  # a digit to str.isdigit(), not to int()
    inverted = user.command(LEAD, "chase Discharge flow sponsor_after=4")  # before the lead (after 5)
    unknown = user.command(LEAD, "chase Discharge flow volume=11")
    too_many = user.command(LEAD, "chase Discharge flow nudges=11")

    assert "up to 3" in shown.text and "after 3 working days" in shown.text
    assert "up to 2" in changed.text and "after 5 working days" in changed.text and "off" in changed.text
    assert "Only the clinic's lead or sponsor" in refused.text
    assert "whole number" in bad.text
    assert "whole number" in superscript.text
    assert "should be more than `lead_after` (5)" in inverted.text
    assert "don't know the setting" in unknown.text
    assert too_many.text == (
        "`nudges` is 0 to 10 (overdue nudges to the owner, at most, per cycle). Nothing was changed."
    )
    assert all("Nothing was changed" in a.text for a in (bad, superscript, inverted, unknown))
    assert "up to 2" in user.command(LEAD, "chase discharge flow").text


@pytest.mark.parametrize(("lead_after", "sponsor_after"), [(10, 7), (7, 7)])
def test_a_lead_is_not_refused_for_chase_defaults_they_never_set(lead_after, sponsor_after):
    """Workspace defaults with the sponsor hearing no later than the lead would make every `/clinic chase`
    fail over values the lead never typed: they stop start-up instead, named."""
    with pytest.raises(SettingsError, match=r"CHASE_SPONSOR_AFTER_DAYS .* more than CHASE_LEAD_AFTER_DAYS"):
        load_settings(chase_lead_after_days=lead_after, chase_sponsor_after_days=sponsor_after, _env_file=None)


def test_a_clinics_own_settings_change_when_its_lead_hears(user, slack, db, bot, clock):
    from datetime import UTC, datetime

    from bot.demo.walk import Walk
    from tests.test_clinics import register_clinic
    from tests.test_status import add

    walk = Walk(bot, slack, clock)
    clinic_id = register_clinic(user, slack, db)
    user.command(LEAD, "chase Discharge flow lead_after=1")
    add(user, slack, "UASSIGNER", "UOWNER", "Fast escalation", "2026-11-27", clinic_id)
    walk.settle()

    walk.until(datetime(2026, 12, 1, tzinfo=UTC))

    # One working day overdue would be 09:00 in London, but the owner hears first: at 09:00 in New York.
    assert [t.local("Europe/London") for t in walk.to(LEAD)] == ["Mon 30 Nov 14:00"]
