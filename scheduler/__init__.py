"""APScheduler wiring: a periodic pass over the database and nothing else. It never holds a job per action;
the database is the truth, and a pass can run in any number of processes at once."""

from __future__ import annotations

import dataclasses
import logging
from datetime import UTC, datetime

from apscheduler.schedulers.background import BackgroundScheduler

from bot.delivery import DeliveryReport
from bot.services import Services

log = logging.getLogger("clinic_bot.scheduler")

PASS_JOB_ID = "clinic-pass"


def run_pass(services: Services, *, real_time: bool = True) -> DeliveryReport:
    """One pass: decide what is due now, deliver the outbox, and apply the retention period. A planner that
    fails does not hold back the others nor the delivery of what is queued: its error is raised once they
    are done, and the pass does not count as finished (`/healthz` shows the scheduler stalled if it goes on).
    A pass run as if at another time (`tick --now`, `real_time=False`) only plans and delivers: what is
    deleted for age, and the last pass `/healthz` reports, go by the real time."""
    failure: Exception | None = None
    for planner in (services.planner, services.digests, services.one_on_one_schedule, services.reports):
        try:
            planner.plan()
        except Exception as exc:
            log.error("planner_failed", extra={"planner": type(planner).__name__, "error": type(exc).__name__})
            failure = failure or exc
    report = services.delivery.deliver_due()
    if real_time:
        services.retention.run_if_due()
    if failure is not None:
        raise failure
    if real_time:
        services.health.passed()
    return report


def build_scheduler(services: Services, *, every_seconds: int) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(timezone="UTC")
    scheduler.add_job(
        _safe_pass,
        "interval",
        seconds=every_seconds,
        args=[services],
        id=PASS_JOB_ID,
        replace_existing=True,
        coalesce=True,
        max_instances=1,
        next_run_time=datetime.now(UTC),  # ok: APScheduler's own time; a pass at once after a start
    )
    return scheduler


def _safe_pass(services: Services) -> None:
    try:
        report = run_pass(services)
        if report.sent or report.failed or report.retrying or report.dropped:
            log.info("pass", extra=dataclasses.asdict(report))
    except Exception:
        log.exception("pass_failed")
