"""Learning who people are: several requests learning the same person at once all succeed."""

from __future__ import annotations

import threading

from sqlalchemy import select

from bot.people import Person
from storage.models import SlackUser
from tests.conftest import OWNER


def test_many_requests_learning_one_person_at_once_all_succeed_and_store_one_row(bot, db):
    failures: list[BaseException] = []
    start = threading.Barrier(8)

    def learn(n: int) -> None:
        start.wait()
        try:
            bot.services.people.remember("T0001", Person(OWNER, f"Olu {n}", "America/New_York"))
        except BaseException as exc:  # any failure is what this test looks for
            failures.append(exc)

    threads = [threading.Thread(target=learn, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    db.expire_all()
    [row] = db.scalars(select(SlackUser).where(SlackUser.user_id == OWNER)).all()
    assert row.tz == "America/New_York" and row.name.startswith("Olu ")
