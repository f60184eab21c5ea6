"""The `clinic-bot` command: run the bot, migrate the database, run one scheduler pass."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from datetime import UTC, datetime

from bot.settings import Settings, SettingsError, load_settings

log = logging.getLogger("clinic_bot")

TOKEN_HELP = "Create the app from app.yaml at api.slack.com/apps, then set it in the environment or in .env (see README)."


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "func"):
        parser.print_help()
        return 2
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"clinic-bot: setting {exc}", file=sys.stderr)
        return 2
    from bot.logs import configure

    configure(settings.log_level)
    try:
        return int(args.func(settings, args) or 0)
    except SettingsError as exc:
        print(f"clinic-bot: {exc}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="clinic-bot", description="Clinic Bot: follow-up for performance clinics, in Slack."
    )
    commands = parser.add_subparsers(title="commands")

    run = commands.add_parser("run", help="serve Slack (and run the scheduler, unless --no-scheduler)")
    run.add_argument(
        "--mode", choices=["http", "socket"], help="default: socket when SLACK_APP_TOKEN is set, else http"
    )
    run.add_argument("--host", default="0.0.0.0", help="HTTP mode: address to listen on (default 0.0.0.0)")
    run.add_argument("--port", type=int, default=3000, help="HTTP mode: port (default 3000)")
    run.add_argument(
        "--no-scheduler", action="store_true", help="serve Slack only; another process runs the scheduler"
    )
    run.set_defaults(func=_run)

    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(title="db commands")
    upgrade = db_commands.add_parser("upgrade", help="apply pending schema migrations")
    upgrade.set_defaults(func=_db_upgrade)

    tick = commands.add_parser("tick", help="run one scheduler pass now, or as if at --now")
    tick.add_argument("--now", type=_instant, help="ISO 8601 instant (UTC when no offset is given)")
    tick.add_argument("--dry-run", action="store_true", help="print what would be sent; send nothing")
    tick.set_defaults(func=_tick)
    return parser


def _instant(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO 8601 date-time, e.g. 2026-12-04T09:00"
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _require(settings: Settings, *names: str) -> None:
    for name in names:
        if getattr(settings, name) is None:
            raise SettingsError(f"{name.upper()} is not set. {TOKEN_HELP}")


def _db_upgrade(settings: Settings, _args: argparse.Namespace) -> int:
    from storage.db import upgrade

    upgrade(settings.database_url)
    print("clinic-bot: database is up to date")
    return 0


def _build(settings: Settings, clock=None):  # type: ignore[no-untyped-def]
    from bot.app import create_app
    from bot.clock import SystemClock
    from storage.db import make_engine, make_session_factory, upgrade

    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    return engine, create_app(
        settings, session_factory=make_session_factory(engine), clock=clock or SystemClock()
    )


def _run(settings: Settings, args: argparse.Namespace) -> int:
    mode = args.mode or ("socket" if settings.slack_app_token else "http")
    _require(settings, "slack_bot_token", "slack_app_token" if mode == "socket" else "slack_signing_secret")
    engine, bot = _build(settings)
    scheduler = None
    if not args.no_scheduler:
        from scheduler import build_scheduler

        scheduler = build_scheduler(bot.services, every_seconds=settings.pass_every_seconds)
        scheduler.start()
    bot.services.delivery.kick()  # whatever an earlier run left unsent
    log.info("starting", extra={"mode": mode, "scheduler": scheduler is not None})
    try:
        if mode == "socket":
            _serve_socket_mode(bot, settings)
        else:
            import uvicorn

            from bot.web import create_web_app

            uvicorn.run(
                create_web_app(bot.bolt, engine),
                host=args.host,
                port=args.port,
                log_config=None,
                access_log=False,
            )
    finally:
        if scheduler is not None:
            scheduler.shutdown(wait=False)
        bot.close()
    return 0


def _serve_socket_mode(bot, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    handler = SocketModeHandler(bot.bolt, settings.slack_app_token.get_secret_value())  # type: ignore[union-attr]
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    handler.connect()
    stop.wait()
    handler.close()


def _tick(settings: Settings, args: argparse.Namespace) -> int:
    from bot.clock import FixedClock, SystemClock

    if args.dry_run:
        print("clinic-bot: dry run: nothing is planned yet beyond the outbox; nothing sent")
        return 0
    _require(settings, "slack_bot_token")
    clock = FixedClock(args.now) if args.now else SystemClock()
    _engine, bot = _build(settings, clock)
    from scheduler import run_pass

    report = run_pass(bot.services)
    print(f"clinic-bot: pass done: {report.sent} sent, {report.retrying} to retry, {report.failed} failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
