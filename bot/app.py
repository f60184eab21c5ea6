"""The composition root: the one place that wires settings -> database -> services -> Bolt app -> listeners."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from slack_bolt import App
from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore

from bot.actions import ActionService
from bot.clinics import ClinicChasing, ClinicService
from bot.clock import Clock
from bot.delivery import Delivery, Pace
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
from bot.services import Services
from bot.settings import Settings
from bot.signing import RequestSignatures
from bot.status import StatusService
from bot.wins import render_wins
from bot.workspaces import InstalledWorkspaces, OneWorkspace, Tokens, Workspaces
from handlers import register
from storage.db import SessionFactory
from storage.installations import EncryptedInstallationStore

log = logging.getLogger("clinic_bot")


@dataclass
class ClinicBot:
    bolt: App
    services: Services
    listener_executor: ThreadPoolExecutor

    def close(self) -> None:
        """Let the work started after acks finish, then stop delivering."""
        self.listener_executor.shutdown(wait=True)
        self.services.delivery.stop()


# What the app asks a workspace for when installed through OAuth; app.yaml asks for the same (a test checks).
BOT_SCOPES = (
    "commands",
    "chat:write",
    "chat:write.public",
    "im:history",
    "im:write",
    "users:read",
    "files:write",
    "reactions:write",
)
INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"


def _secret(value: object) -> str | None:
    return value.get_secret_value() if value is not None else None  # type: ignore[attr-defined]


def _oauth_settings(settings: Settings, session_factory: SessionFactory) -> OAuthSettings:
    engine = session_factory.kw["bind"]
    return OAuthSettings(
        client_id=settings.slack_client_id,
        client_secret=_secret(settings.slack_client_secret),
        scopes=list(BOT_SCOPES),
        installation_store=EncryptedInstallationStore(
            settings.slack_client_id,  # type: ignore[arg-type]
            engine,
            _secret(settings.token_encryption_key),  # type: ignore[arg-type]
        ),
        installation_store_bot_only=True,
        state_store=SQLAlchemyOAuthStateStore(expiration_seconds=600, engine=engine),
        install_path=INSTALL_PATH,
        redirect_uri_path=REDIRECT_PATH,
        authorization_url=authorization_url(settings.slack_api_url),
    )


def authorization_url(api_url: str) -> str:
    """Where an installer is sent to approve the app: beside the Web API on the same host, so that
    GovSlack (https://slack-gov.com/api/) installs through slack-gov.com, not slack.com."""
    return api_url.removesuffix("api/") + "oauth/v2/authorize"


def create_app(
    settings: Settings,
    *,
    session_factory: SessionFactory,
    clock: Clock,
    slack_client: WebClient | None = None,
) -> ClinicBot:
    token = None if settings.installs_per_workspace else _secret(settings.slack_bot_token)
    # Replies to a person's own request may retry once on a rate limit; outbox delivery never
    # retries blindly (see bot/delivery.py), so it gets a client of its own. Each request's authorization
    # gives it the token.
    client = slack_client or WebClient(
        base_url=settings.slack_api_url,
        timeout=10,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)],
    )
    oauth = _oauth_settings(settings, session_factory) if settings.installs_per_workspace else None
    tokens: Tokens = (
        InstalledWorkspaces(oauth.installation_store, settings.slack_api_url)  # type: ignore[arg-type]
        if oauth is not None
        else OneWorkspace(token, settings.slack_api_url, session_factory, clock)
    )
    people = People(session_factory, clock)
    patient_data = PatientData(clock, settings.patient_id_patterns)
    # The pass plans nothing for a workspace that removed the app: with installs per workspace, one with no
    # installation stored; with one token (None), one marked removed (see OneWorkspace).
    installs = settings.slack_client_id if oauth is not None else None
    planner = NudgePlanner(session_factory, clock, settings.hours(), settings.chase_policy(), oauth_client_id=installs)
    digests = DigestPlanner(session_factory, clock, settings.digest_preference(), oauth_client_id=installs)
    one_on_one = OneOnOneService(session_factory, clock)
    reports = ReportPlanner(session_factory, clock, settings.hours(), planner.policy_for, oauth_client_id=installs)
    services = Services(
        settings=settings,
        clock=clock,
        patient_data=patient_data,
        health=Health(session_factory, clock, settings.pass_every_seconds),
        workspaces=Workspaces(session_factory, tokens),
        retention=Retention(session_factory, clock, settings.retention_days),
        sessions=session_factory,
        people=people,
        actions=ActionService(session_factory, clock, people, patient_data),
        clinics=ClinicService(session_factory, clock, settings.hours(), patient_data),
        status=StatusService(session_factory, clock, people),
        delivery=Delivery(
            session_factory,
            clock,
            tokens.gateway,
            {
                "chase": planner.render,
                "wins": render_wins,
                "digest": digests.render,
                "digest_chart": digests.render_chart,
                "one_on_one": one_on_one.render,
                "report_due": reports.render,
                "report_missed": reports.render,
            },
            max_attempts=settings.delivery_attempts,
            pace=Pace(settings.send_gap_per_conversation_seconds, settings.send_per_second, settings.send_burst),
        ),
        planner=planner,
        escalation=EscalationService(session_factory, clock, people, patient_data),
        chasing=ClinicChasing(session_factory, clock, settings.chase_policy()),
        digests=digests,
        home=HomeService(session_factory, clock, people),
        one_on_one=one_on_one,
        one_on_one_schedule=OneOnOneScheduler(
            session_factory, clock, people, settings.hours(), oauth_client_id=installs
        ),
        indicators=IndicatorService(session_factory, clock, patient_data),
        exports=ExportService(session_factory, clock),
        reports=reports,
    )
    executor = ThreadPoolExecutor(max_workers=16, thread_name_prefix="after-ack")
    bolt = App(
        listener_executor=executor,
        client=client,
        signing_secret=_secret(settings.slack_signing_secret) or "",
        request_verification_enabled=False,  # bot/signing.py checks every request first instead
        before_authorize=RequestSignatures(
            [_secret(settings.slack_signing_secret) or "", _secret(settings.slack_signing_secret_previous) or ""]
        ),
        oauth_settings=oauth,
        authorize=tokens.authorize if isinstance(tokens, OneWorkspace) else None,
        process_before_response=True,
        logger=logging.getLogger("clinic_bot.bolt"),
    )
    register(bolt, services)
    return ClinicBot(bolt=bolt, services=services, listener_executor=executor)
