"""The services a listener may call, built once by the app factory."""

from __future__ import annotations

from dataclasses import dataclass

from bot.actions import ActionService
from bot.clinics import ClinicChasing, ClinicService
from bot.clock import Clock
from bot.delivery import Delivery
from bot.digest import DigestPlanner
from bot.escalation import EscalationService
from bot.export import ExportService
from bot.health import Health
from bot.home import HomeService
from bot.nudges import NudgePlanner
from bot.one_on_one import OneOnOneScheduler, OneOnOneService
from bot.patient_data import PatientData
from bot.people import People
from bot.reporting import IndicatorService, ReportPlanner
from bot.retention import Retention
from bot.settings import Settings
from bot.status import StatusService
from bot.workspaces import Workspaces
from storage.db import SessionFactory


@dataclass
class Services:
    settings: Settings
    clock: Clock
    patient_data: PatientData
    health: Health
    workspaces: Workspaces
    retention: Retention
    sessions: SessionFactory
    people: People
    actions: ActionService
    clinics: ClinicService
    status: StatusService
    delivery: Delivery
    planner: NudgePlanner
    escalation: EscalationService
    chasing: ClinicChasing
    digests: DigestPlanner
    home: HomeService
    one_on_one: OneOnOneService
    one_on_one_schedule: OneOnOneScheduler
    indicators: IndicatorService
    exports: ExportService
    reports: ReportPlanner
