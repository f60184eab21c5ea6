"""Reading the world back: what people were told, and what the database holds."""

from __future__ import annotations

import contextlib
import threading
from collections import Counter
from collections.abc import Callable, Collection
from typing import Any

from sqlalchemy import Engine, event, func, select
from sqlalchemy.orm import Session

from bot.demo.standin import Call, SlackStandIn, blocks_text
from storage.models import Action, ActionEvent


def text_of(call: Call) -> str:
    return blocks_text(call)


def buttons_of(call: Call) -> list[str]:
    labels = []
    for block in call.params.get("blocks") or []:
        for element in block.get("elements", []) if block.get("type") == "actions" else []:
            if element.get("type") == "button":
                labels.append(element["text"]["text"])
    return labels


def wait_dms(slack: SlackStandIn, user_id: str, count: int = 1) -> list[Call]:
    slack.wait_for(lambda _calls: len(slack.messages_to(user_id)) >= count)
    return slack.messages_to(user_id)


def wait_response(slack: SlackStandIn, count: int = 1) -> list[Call]:
    slack.wait_for(lambda _calls: len(slack.calls_to("response_url")) >= count)
    return slack.calls_to("response_url")


def opened_view(slack: SlackStandIn, count: int = 1) -> dict[str, Any]:
    slack.wait_for(lambda _calls: len(slack.calls_to("views.open")) >= count)
    return slack.calls_to("views.open")[count - 1].params["view"]


def form_as_shown(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A modal's inputs as Slack sends them back when it is submitted untouched: each with its initial value."""

    def value(element: dict[str, Any]) -> dict[str, Any]:
        kind = element["type"]
        if kind == "users_select":
            return {"type": kind, "selected_user": element.get("initial_user")}
        if kind == "conversations_select":
            return {"type": kind, "selected_conversation": element.get("initial_conversation")}
        return {"type": "plain_text_input", "value": element.get("initial_value")}

    return {b["block_id"]: value(b["element"]) for b in view["blocks"] if b["type"] == "input"}


def database_down(engine: Engine) -> None:
    """From now on the database refuses every connection, as when it is unreachable (on either backend).
    Close any session the test holds first: the pool is emptied so nothing already connected gets through."""
    refused = engine.dialect.loaded_dbapi.OperationalError

    def refuse(*_args: Any) -> None:
        raise refused("connection refused")

    event.listen(engine, "do_connect", refuse)
    engine.dispose()


def at_once(
    engine: Engine, table: str, *presses: Callable[[], Any], between: Callable[[], Any] = lambda: None
) -> list[Any]:
    """Run each press in a thread of its own, each reading `table` before any of them writes, as requests
    served at the same moment can; `between` runs once the first has read, before the others start (to
    move the clock, say). What each press returned, in order. Where the database makes one press wait for
    another, they cannot all read first: they are held a few seconds, then go on one after the other."""
    names = [f"press-{n}" for n in range(len(presses))]
    all_read = threading.Barrier(len(presses))
    first_read = threading.Event()
    held: set[str] = set()

    def hold_after_reading(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        name = threading.current_thread().name
        if name in names and name not in held and f"FROM {table}" in statement:
            held.add(name)
            first_read.set()
            with contextlib.suppress(threading.BrokenBarrierError):
                all_read.wait(timeout=3)

    results: dict[str, Any] = {}

    def run(name: str, press: Callable[[], Any]) -> None:
        results[name] = press()

    threads = [threading.Thread(name=n, target=run, args=(n, p)) for n, p in zip(names, presses, strict=True)]
    event.listen(engine, "after_cursor_execute", hold_after_reading)
    try:
        threads[0].start()
        if not first_read.wait(timeout=10):
            raise AssertionError(f"the first press never read {table}")
        between()
        for thread in threads[1:]:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        event.remove(engine, "after_cursor_execute", hold_after_reading)
    return [results.get(n) for n in names]


def actions_in(db: Session) -> list[Action]:
    db.expire_all()
    return list(db.scalars(select(Action).order_by(Action.id)))


def history_kinds(db: Session, action_id: int) -> list[str]:
    db.expire_all()
    return list(db.scalars(select(ActionEvent.kind).where(ActionEvent.action_id == action_id).order_by(ActionEvent.id)))


def count(db: Session, model: type) -> int:
    db.expire_all()
    return int(db.scalar(select(func.count()).select_from(model)) or 0)


def nudges_per_person(slack: SlackStandIn, people: Collection[str]) -> Counter[str]:
    """How many overdue nudges each of `people` was sent."""
    return Counter(
        c.params["channel"].removeprefix("D")
        for c in slack.calls_to("chat.postMessage")
        if c.params["channel"].removeprefix("D") in people and ("Overdue" in text_of(c) or "need a look" in text_of(c))
    )
