"""Clinic rules that the registration modal cannot show on its own (it only has four inputs)."""

from __future__ import annotations

import pytest

from bot.clinics import NewClinic
from bot.errors import UserError
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
            )
        )
    assert caught.value.field == "focus"
    assert bot.services.clinics.list("T0001") == []


def test_clinics_of_one_workspace_are_invisible_to_another(bot):
    bot.services.clinics.register(NewClinic(team_id="T0001", name="Flow", lead_id=LEAD, created_by=LEAD))
    bot.services.clinics.register(NewClinic(team_id="T0002", name="Flow", lead_id=LEAD, created_by=LEAD))

    assert [c.team_id for c in bot.services.clinics.list("T0001")] == ["T0001"]
    assert [c.team_id for c in bot.services.clinics.list("T0002")] == ["T0002"]
