"""Settings read from the environment (and a `.env` file), validated once at start-up."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    slack_bot_token: SecretStr | None = Field(
        default=None, description="Bot token (xoxb-...) from the app's OAuth page."
    )
    slack_signing_secret: SecretStr | None = Field(
        default=None, description="Signing secret from the app's Basic Information page (HTTP mode)."
    )
    slack_app_token: SecretStr | None = Field(
        default=None, description="App-level token (xapp-...) with connections:write (Socket Mode)."
    )
    slack_api_url: str = Field(
        default="https://slack.com/api/",
        description="Base URL of Slack's Web API (GovSlack and tests change it).",
    )
    database_url: str = Field(
        default="sqlite:///clinic-bot.db",
        description="SQLAlchemy URL; SQLite in the working directory by default.",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="Log level of the bot's structured logs."
    )
    delivery_attempts: int = Field(
        default=8, ge=1, le=100, description="Attempts before an outbox message is given up."
    )

    @field_validator("slack_bot_token")
    @classmethod
    def _bot_token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith("xox"):
            raise ValueError("must be a Slack bot token starting with xoxb-")
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
        if url.get_backend_name() not in ("sqlite", "postgresql"):
            raise ValueError("must point at SQLite or PostgreSQL")
        return value


class SettingsError(Exception):
    """A setting is missing or malformed; the message is one line naming it."""


def load_settings(**overrides: object) -> Settings:
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]).upper() if first["loc"] else "settings"
        raise SettingsError(f"{name}: {first['msg']}") from None
