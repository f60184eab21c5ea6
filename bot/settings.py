"""Settings read from the environment (and a `.env` file), validated once at start-up."""

from __future__ import annotations

import re
import unicodedata
from datetime import date, time
from typing import Literal

import pydantic_settings
from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.chasing import ChasePolicy
from bot.dates import weekday_number
from bot.working_time import WorkingHours

WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    slack_bot_token: SecretStr | None = Field(
        default=None, description="Bot token (xoxb-...) from the app's OAuth page."
    )
    slack_signing_secret: SecretStr | None = Field(
        default=None, description="Signing secret from the app's Basic Information page (HTTP mode)."
    )
    slack_signing_secret_previous: SecretStr | None = Field(
        default=None,
        description="During a signing-secret rotation: the previous secret, still accepted until you remove it.",
    )
    slack_app_token: SecretStr | None = Field(
        default=None, description="App-level token (xapp-...) with connections:write (Socket Mode)."
    )
    slack_client_id: str | None = Field(
        default=None,
        description="Installing in several workspaces: the app's Client ID (Basic Information). With it, "
        "workspaces install through /slack/install and the bot token comes from each installation.",
    )
    slack_client_secret: SecretStr | None = Field(
        default=None, description="Installing in several workspaces: the app's Client Secret."
    )
    token_encryption_key: SecretStr | None = Field(
        default=None,
        description="Installing in several workspaces: the key that encrypts stored bot tokens (a Fernet key: "
        '`python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"`). '
        "Keep it out of the database and its backups.",
    )
    slack_api_url: str = Field(
        default="https://slack.com/api/",
        description="Base URL of Slack's Web API (GovSlack: https://slack-gov.com/api/; tests change it). "
        "Installing in several workspaces, installers approve the app on the same host.",
    )
    database_url: str = Field(
        default="sqlite:///clinic-bot.db",
        description="SQLAlchemy URL; SQLite in the working directory by default. PostgreSQL: "
        "postgresql+psycopg://user:password@host/database (postgres:// and postgresql:// mean the same).",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="Log level of the bot's structured logs."
    )
    patient_id_patterns: list[str] = Field(
        default=[],
        description="Local patient record-number patterns, as a JSON list of regular expressions, e.g. "
        '["\\\\bRX\\\\d{7}\\\\b"]: text matching one is refused, like NHS numbers and dates of birth are.',
    )
    delivery_attempts: int = Field(
        default=20,
        ge=1,
        le=100,
        description="Attempts before an outbox message is given up when Slack fails (5xx, timeouts); with the "
        "backoff (5 s doubling, at most 15 min) the default rides out about three hours of outage.",
    )

    # Chasing defaults for the workspace; a clinic's lead can override them with `/clinic chase`.
    chase_reminder: bool = Field(default=True, description="Remind owners on the working day before a deadline.")
    chase_repeat_every_days: int = Field(default=2, ge=1, le=20, description="Working days between overdue nudges.")
    chase_owner_nudges: int = Field(default=3, ge=0, le=10, description="Overdue nudges to an owner, at most.")
    chase_lead_after_days: int = Field(
        default=3, ge=1, le=60, description="Working days overdue before the lead hears."
    )
    chase_sponsor_after_days: int = Field(
        default=7,
        ge=1,
        le=90,
        description="Working days overdue before the executive sponsor hears; more than CHASE_LEAD_AFTER_DAYS.",
    )
    chase_stalled_after_days: int = Field(
        default=14, ge=1, le=180, description="Days without an owner update before a still-on-track check-in."
    )
    working_hours: str = Field(default="09:00-17:00", description="Working window, in each person's own time zone.")
    working_days: str = Field(default="mon,tue,wed,thu,fri", description="Working days of the week.")
    holidays: str = Field(default="", description="Workspace holidays, comma-separated ISO dates: no nudges on them.")
    digest_day: str = Field(
        default="mon", description="Default day of the weekly digest (each person can change theirs)."
    )
    digest_time: str = Field(
        default="09:00", description="Default time of the weekly digest, in the reader's time zone."
    )
    retention_days: int | None = Field(
        default=None,
        ge=30,
        le=3650,
        description="When set, actions closed more than this many days ago are deleted with their history, "
        "once a day (as `clinic-bot purge` does). Unset: kept until purged.",
    )
    request_threads: int = Field(
        default=2,
        ge=1,
        le=64,
        description="HTTP mode: how many Slack requests one process works on at once. Python runs one "
        "thread at a time, so more only help while requests wait on the database; under load they answer "
        "fewer requests, each more slowly. To serve more, run more processes.",
    )
    pass_every_seconds: int = Field(default=60, ge=5, le=3600, description="How often the scheduler runs a pass.")
    send_per_second: float = Field(
        default=5.0,
        gt=0,
        le=1000,
        description="How many messages a second one process posts to a workspace, on average (Slack caps a "
        "workspace without saying at what; with several processes, give each its share).",
    )
    send_burst: int = Field(default=5, ge=1, le=1000, description="How many messages may go at once within that pace.")
    send_gap_per_conversation_seconds: float = Field(
        default=1.0,
        ge=0,
        le=60,
        description="The least time between two posts into one conversation (Slack allows about one a second).",
    )
    tick_timeout_seconds: int = Field(
        default=300,
        ge=1,
        le=86400,
        description="How long `clinic-bot tick` waits for Slack before giving up.",
    )

    @field_validator(
        "slack_bot_token",
        "slack_signing_secret",
        "slack_signing_secret_previous",
        "slack_app_token",
        "slack_client_id",
        "slack_client_secret",
        "token_encryption_key",
        mode="before",
    )
    @classmethod
    def _not_blank(cls, value: object) -> object:
        """An empty line in the environment passes for a value, and a secret put there with `echo` ends in a
        newline: either way HTTP mode would start and answer every Slack request 401. No secret or token has
        whitespace around it, so it is dropped; empty is a mistake, not a choice: unset is written by leaving
        the line out."""
        if isinstance(value, str):
            value = value.strip()
            if not value:
                raise ValueError("is set but empty: give it its value, or remove the line to leave it unset")
        return value

    @field_validator("patient_id_patterns")
    @classmethod
    def _patterns_compile(cls, value: list[str]) -> list[str]:
        for pattern in value:
            if any(unicodedata.category(c) == "Cc" for c in pattern):
                # JSON reads "\b" written with one backslash as a backspace: the pattern would never match.
                raise ValueError(
                    f"{pattern!r} holds a control character: in JSON, double each backslash, "
                    'e.g. ["\\\\bMRN[0-9]{8}\\\\b"]'
                )
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"{pattern!r} is not a regular expression: {exc}") from None
        return value

    @field_validator("working_hours")
    @classmethod
    def _hours_shape(cls, value: str) -> str:
        start, sep, end = value.partition("-")
        try:
            opens, closes = time.fromisoformat(start.strip()), time.fromisoformat(end.strip())
        except ValueError:
            raise ValueError("must look like 09:00-17:00") from None
        if not sep or opens >= closes:
            raise ValueError("must look like 09:00-17:00, start before end")
        return value

    @field_validator("working_days")
    @classmethod
    def _days_shape(cls, value: str) -> str:
        days = [weekday_number(d.strip()) for d in value.split(",") if d.strip()]
        if not days or None in days:
            raise ValueError("must be day names like mon,tue,wed,thu,fri")
        return value

    @field_validator("digest_day")
    @classmethod
    def _digest_day_shape(cls, value: str) -> str:
        day = weekday_number(value.strip())
        if day is None:
            raise ValueError("must be a day name like mon")
        return WEEKDAYS[day]

    @field_validator("digest_time")
    @classmethod
    def _digest_time_shape(cls, value: str) -> str:
        try:
            return time.fromisoformat(value.strip()).strftime("%H:%M")
        except ValueError:
            raise ValueError("must look like 09:00") from None

    @field_validator("holidays")
    @classmethod
    def _holidays_shape(cls, value: str) -> str:
        try:
            [date.fromisoformat(d.strip()) for d in value.split(",") if d.strip()]
        except ValueError:
            raise ValueError("must be ISO dates separated by commas, like 2026-12-25,2026-12-28") from None
        return value

    @field_validator("token_encryption_key")
    @classmethod
    def _key_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            from cryptography.fernet import Fernet

            try:
                Fernet(value.get_secret_value().encode())
            except ValueError:
                raise ValueError("must be a Fernet key (32 url-safe base64-encoded bytes)") from None
        return value

    @model_validator(mode="after")
    def _oauth_complete(self) -> Settings:
        if self.slack_client_id and not (self.slack_client_secret and self.token_encryption_key):
            missing = "SLACK_CLIENT_SECRET" if not self.slack_client_secret else "TOKEN_ENCRYPTION_KEY"
            raise ValueError(f"{missing} is needed too when SLACK_CLIENT_ID is set")
        return self

    @model_validator(mode="after")
    def _chase_in_order(self) -> Settings:
        # A lead's `/clinic chase` is checked over these defaults: out of order, it would refuse every change.
        if not self.chase_policy().escalates_in_order:
            raise ValueError(
                f"CHASE_SPONSOR_AFTER_DAYS ({self.chase_sponsor_after_days}) should be more than "
                f"CHASE_LEAD_AFTER_DAYS ({self.chase_lead_after_days}): the sponsor hears after the lead"
            )
        return self

    @property
    def installs_per_workspace(self) -> bool:
        """Several workspaces install through OAuth, instead of one bot token for one workspace."""
        return bool(self.slack_client_id)

    def hours(self) -> WorkingHours:
        start, _, end = self.working_hours.partition("-")
        return WorkingHours(
            start=time.fromisoformat(start.strip()),
            end=time.fromisoformat(end.strip()),
            days=frozenset(weekday_number(d.strip()) for d in self.working_days.split(",") if d.strip()),  # type: ignore[misc]
            holidays=frozenset(date.fromisoformat(d.strip()) for d in self.holidays.split(",") if d.strip()),
        )

    def digest_preference(self):  # type: ignore[no-untyped-def]
        from bot.digest import Preference

        return Preference(WEEKDAYS.index(self.digest_day), time.fromisoformat(self.digest_time), combined=False)

    def chase_policy(self) -> ChasePolicy:
        return ChasePolicy(
            reminder=self.chase_reminder,
            repeat_every_days=self.chase_repeat_every_days,
            owner_nudges=self.chase_owner_nudges,
            lead_after_days=self.chase_lead_after_days,
            sponsor_after_days=self.chase_sponsor_after_days,
            stalled_after_days=self.chase_stalled_after_days,
        )

    @field_validator("slack_bot_token")
    @classmethod
    def _bot_token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith("xoxb-"):
            # A user token (xoxp-) works too, and the bot would post as that person.
            raise ValueError("must be the Bot User OAuth Token, starting with xoxb- (not the user token, xoxp-)")
        return value

    @field_validator("slack_app_token")
    @classmethod
    def _app_token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith("xapp-"):
            raise ValueError("must be an app-level token starting with xapp-")
        return value

    @field_validator("slack_api_url")
    @classmethod
    def _api_url_shape(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return value if value.endswith("/") else value + "/"

    @field_validator("database_url")
    @classmethod
    def _database_url_shape(cls, value: str) -> str:
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            url = make_url(value)
        except ArgumentError as exc:
            raise ValueError("is not a database URL (try sqlite:///clinic-bot.db)") from exc
        if url.drivername in ("postgres", "postgresql"):
            # Hosts hand out postgres://, psql takes postgresql://; SQLAlchemy would load psycopg2 for either.
            url = url.set(drivername="postgresql+psycopg")
            value = url.render_as_string(hide_password=False)
        if url.get_backend_name() not in ("sqlite", "postgresql"):
            raise ValueError("must point at SQLite or PostgreSQL")
        try:
            url.get_dialect().import_dbapi()
        except (ArgumentError, ImportError):
            driver = url.drivername.partition("+")[2]
            written = "sqlite:///" if url.get_backend_name() == "sqlite" else "postgresql+psycopg://"
            raise ValueError(f"names the driver {driver!r}, which is not installed: begin it with {written}") from None
        return value


class SettingsError(Exception):
    """A setting is missing or malformed; the message is one line naming it."""


def load_settings(**overrides: object) -> Settings:
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except pydantic_settings.SettingsError as exc:  # a list setting that is not JSON
        field = re.search(r'field "(\w+)"', str(exc))
        name = field.group(1).upper() if field else "settings"
        raise SettingsError(f'{name}: must be a JSON list, for example ["first", "second"]') from None
    except ValidationError as exc:
        first = exc.errors()[0]
        message = first["msg"].removeprefix("Value error, ")
        if first["loc"]:
            message = f"{str(first['loc'][0]).upper()}: {message}"
        raise SettingsError(message) from None


def reference() -> str:
    """The configuration reference, in Markdown, from the settings model itself (docs/configuration.md)."""
    from bot.clinics import CHASE_KEYS

    lines = [
        "# Configuration reference",
        "",
        "<!-- Generated by `clinic-bot config`; a test fails when this file and the settings model differ. -->",
        "",
        "Every setting is an environment variable (or a line `NAME=value` in a `.env` file in the working",
        "directory). A missing or malformed setting stops start-up with one line naming it.",
        "",
        "| variable | default | meaning |",
        "|---|---|---|",
    ]
    for name, field in Settings.model_fields.items():
        default = field.default
        shown = "(none)" if default in (None, "", []) else f"`{str(default).lower() if default is True else default}`"
        lines.append(f"| `{name.upper()}` | {shown} | {field.description} |")
    lines += [
        "",
        "## Per clinic",
        "",
        "A clinic's lead or sponsor can override how its actions are chased with",
        "`/clinic chase <clinic> key=value ...`; `/clinic chase <clinic>` shows the values in force.",
        "",
        "| key | overrides |",
        "|---|---|",
    ]
    lines += [f"| `{key}` | `CHASE_{field.upper()}` |" for key, field in CHASE_KEYS.items()]
    lines += [
        "",
        "`/clinic wins <clinic> on|off` turns the clinic's celebrations in its channel on or off (on by default).",
        "",
        "## Per person",
        "",
        "`/clinic digest settings <day> <HH:MM> [combined|separate]` sets when a lead's or sponsor's weekly",
        "digest comes (instead of `DIGEST_DAY` and `DIGEST_TIME`) and whether it is one for all their clinics.",
        "Working hours are always read in each person's own Slack time zone.",
        "",
    ]
    return "\n".join(lines)
