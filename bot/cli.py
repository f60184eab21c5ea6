"""The `clinic-bot` command: run the bot, migrate the database, run one scheduler pass."""

from __future__ import annotations

import argparse
import gc
import logging
import re
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy.exc import OperationalError, ProgrammingError

from bot.clock import SystemClock
from bot.settings import Settings, SettingsError, load_settings

log = logging.getLogger("clinic_bot")

INSUFFICIENT_PRIVILEGE = "42501"  # PostgreSQL's SQLSTATE for "permission denied"

TOKEN_HELP = (
    "Create the app from app.yaml at api.slack.com/apps, then set it in the environment or in .env (see README)."
)


class CannotStart(Exception):
    """The command cannot go on as things stand; the message is one line saying why and what to do."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "func"):
        parser.print_help()
        return 2
    if args.func is _demo:
        return _demo(args)  # its own embedded settings: the environment's do not apply
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"clinic-bot: setting {exc}", file=sys.stderr)
        return 2
    from bot.logs import configure

    configure(settings.log_level)
    try:
        return int(args.func(settings, args) or 0)
    except (SettingsError, CannotStart) as exc:
        print(f"clinic-bot: {exc}", file=sys.stderr)
        return 2
    except (OperationalError, ProgrammingError) as exc:
        # The server is down, the URL points nowhere, the file cannot be written, or the user may not create
        # or write the tables; any other ProgrammingError is a fault of ours and keeps its traceback.
        if isinstance(exc, ProgrammingError) and getattr(exc.orig, "sqlstate", None) != INSUFFICIENT_PRIVILEGE:
            raise
        print(f"clinic-bot: DATABASE_URL: {_database_problem(settings.database_url, exc)}", file=sys.stderr)
        return 2


def _database_problem(url: str, exc: OperationalError | ProgrammingError) -> str:
    """One line an operator can act on, with no password in it (the driver's message may quote the URL)."""
    from storage.db import secrets_in, shown

    reason = next(iter(str(exc.orig or exc).strip().splitlines()), type(exc).__name__)
    for secret in secrets_in(url):
        reason = reason.replace(secret, "***")
    return f"cannot use the database at {shown(url)}: {reason}"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="clinic-bot", description="Clinic Bot: follow-up for performance clinics, in Slack."
    )
    commands = parser.add_subparsers(title="commands")

    demo = commands.add_parser(
        "demo",
        help="watch a scripted clinic go through the real app, with no Slack workspace",
        description="Plays a scripted clinic through the real app on a simulated clock, with a temporary database "
        "and a local stand-in of Slack's Web API, and prints what each person sees.",
    )
    demo.add_argument(
        "--speed", type=_speed, default=1.0, help="playback speed; pauses between scenes shrink as it grows, 0: none"
    )
    demo.add_argument("--seed", type=int, default=1, help="picks the cast's names and when in the hour they act")
    demo.add_argument(
        "--html", type=Path, default=Path("clinic-bot-demo.html"), help="where to write the transcript page"
    )
    demo.add_argument("--no-html", action="store_true", help="write no transcript page")
    demo.set_defaults(func=_demo)

    run = commands.add_parser("run", help="serve Slack (and run the scheduler, unless --no-scheduler)")
    run.add_argument(
        "--mode", choices=["http", "socket"], help="default: socket when SLACK_APP_TOKEN is set, else http"
    )
    run.add_argument("--host", default="0.0.0.0", help="HTTP mode: address to listen on (default 0.0.0.0)")
    run.add_argument("--port", type=int, default=3000, help="HTTP mode: port (default 3000)")
    run.add_argument("--no-scheduler", action="store_true", help="serve Slack only; another process runs the scheduler")
    run.set_defaults(func=_run)

    sched = commands.add_parser("scheduler", help="run only the scheduler: passes and delivery, no Slack listener")
    sched.set_defaults(func=_scheduler)

    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(title="db commands")
    upgrade = db_commands.add_parser("upgrade", help="apply pending schema migrations")
    upgrade.set_defaults(func=_db_upgrade)

    purge = commands.add_parser(
        "purge", help="delete actions closed before a date, with their history and the record of messages sent"
    )
    purge.add_argument("--closed-before", type=_day, required=True, metavar="DATE", help="ISO date, e.g. 2025-01-01")
    purge.add_argument("--dry-run", action="store_true", help="count what would be deleted; delete nothing")
    purge.set_defaults(func=_purge)

    forget = commands.add_parser(
        "forget-workspace",
        help="delete everything kept for one workspace, once it has removed the app",
        description="Deletes every row kept for the workspace: clinics, actions with their history, people, "
        "messages, one-to-ones, indicators, preferences and its stored token. Other workspaces keep theirs.",
    )
    forget.add_argument("--team", type=_team, required=True, metavar="TEAM_ID", help="the workspace, e.g. T0123ABCD")
    forget.add_argument("--dry-run", action="store_true", help="count what would be deleted; delete nothing")
    forget.set_defaults(func=_forget_workspace)

    export = commands.add_parser(
        "export",
        help="write clinics' actions with their history, focus areas, indicators and readings as CSV or JSON",
    )
    export.add_argument("--format", choices=["csv", "json"], required=True)
    export.add_argument("--clinic", action="append", metavar="NAME", help="a clinic to export (repeat; default: all)")
    export.add_argument("--team", metavar="TEAM_ID", help="the workspace, when the database serves several")
    export.add_argument(
        "--out", type=Path, help="json: the file to write (default: standard output); csv: the folder to write into"
    )
    export.set_defaults(func=_export)

    config = commands.add_parser("config", help="print the configuration reference (every setting and its default)")
    config.set_defaults(func=_config)

    tick = commands.add_parser("tick", help="run one scheduler pass now, or as if at --now")
    tick.add_argument("--now", type=_instant, help="ISO 8601 instant (UTC when no offset is given)")
    tick.add_argument("--dry-run", action="store_true", help="print what would be sent; send nothing")
    tick.set_defaults(func=_tick)
    return parser


def _speed(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 1000:
        raise argparse.ArgumentTypeError(f"{text!r} is not a speed between 0 and 1000, e.g. 2")
    return value


def _demo(args: argparse.Namespace) -> int:
    from rich.console import Console

    from bot.demo.story import run, summary

    logging.disable(logging.WARNING)  # the demo shows conversations, not the bot's logs
    console = Console(highlight=False)
    result = run(console, speed=args.speed, seed=args.seed, html_path=None if args.no_html else args.html)
    summary(result, console.print)
    return 0


def _instant(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 date-time, e.g. 2026-12-04T09:00") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _day(text: str) -> date:
    try:
        value = date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO date, e.g. 2025-01-01") from None
    if value > SystemClock().now().date():
        raise argparse.ArgumentTypeError(f"{text} is in the future: only what closed before today can be purged")
    return value


def _team(text: str) -> str:
    if not re.fullmatch(r"[TE][A-Z0-9]{2,}", text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a Slack workspace id, which looks like T0123ABCD")
    return text


def _require(settings: Settings, *names: str) -> None:
    """Each named setting is set; the bot token only when one token serves one workspace."""
    for name in names:
        if name == "slack_bot_token" and settings.installs_per_workspace:
            continue
        if getattr(settings, name) is None:
            raise SettingsError(f"{name.upper()} is not set. {TOKEN_HELP}")


def _db_upgrade(settings: Settings, _args: argparse.Namespace) -> int:
    from storage.db import upgrade

    upgrade(settings.database_url)
    print("clinic-bot: database is up to date")
    return 0


def _build(settings: Settings, clock=None, *, check_tokens: bool = False, dry_run: bool = False):  # type: ignore[no-untyped-def]
    """The app on a migrated database; with `check_tokens`, one that refuses to start with tokens Slack
    will never accept, before anything is sent. A dry run migrates nothing: it needs the schema current."""
    from bot.app import create_app
    from storage.db import make_engine, make_session_factory, upgrade

    if dry_run:
        _schema_current(settings)
    else:
        upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    bot = create_app(settings, session_factory=make_session_factory(engine), clock=clock or SystemClock())
    if check_tokens:
        try:
            bot.services.workspaces.tokens.check()
        except BaseException:
            bot.close()
            raise
    return bot


def _schema_current(settings: Settings, doing: str = "a dry run changes nothing") -> None:
    from storage.db import schema_is_current

    if not schema_is_current(settings.database_url):
        raise CannotStart(f"the database schema is not up to date, and {doing}: run `clinic-bot db upgrade` first")


def _existing_database(settings: Settings) -> None:
    """A command that deletes from the database refuses a SQLite file that is not there: a mistyped path would
    otherwise be created, migrated and reported as holding nothing to delete."""
    from sqlalchemy.engine import make_url

    url = make_url(settings.database_url)
    on_file = url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:")
    if on_file and not Path(url.database).exists():
        raise CannotStart(f"there is no database at {url.database}: check DATABASE_URL. Nothing was deleted.")


def _config(_settings: Settings, _args: argparse.Namespace) -> int:
    from bot.settings import reference

    print(reference(), end="")
    return 0


def _purge(settings: Settings, args: argparse.Namespace) -> int:
    from storage.db import make_engine, make_session_factory, upgrade
    from storage.queries import purge

    _existing_database(settings)
    if args.dry_run:
        _schema_current(settings)
    else:
        upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    before = datetime.combine(args.closed_before, datetime.min.time(), tzinfo=UTC)
    with make_session_factory(engine).begin() as session:
        purged = purge(session, before, dry_run=args.dry_run)
    engine.dispose()
    verb = "would delete" if args.dry_run else "deleted"
    print(
        f"clinic-bot: {verb} {purged.actions} action(s) closed before {args.closed_before} with their history, "
        f"{purged.agenda_items} one-to-one agenda item(s) discussed before it, "
        f"{purged.messages} record(s) of messages sent, and {purged.events} of Slack events handled"
    )
    return 0


def _forget_workspace(settings: Settings, args: argparse.Namespace) -> int:
    from storage.db import make_engine, make_session_factory, upgrade
    from storage.queries import forget_workspace, installed

    _existing_database(settings)
    if args.dry_run:
        _schema_current(settings)
    else:
        upgrade(settings.database_url)
    served = _still_served(settings, args.team)  # asked before a transaction is open: Slack may be slow
    engine = make_engine(settings.database_url)
    try:
        with make_session_factory(engine).begin() as session:
            refusal = "still has the app installed" if installed(session, args.team) else served
            if refusal:
                print(
                    f"clinic-bot: workspace {args.team} {refusal}; what happens there would be recorded again, so "
                    "remove the app from it first. Nothing was deleted.",
                    file=sys.stderr,
                )
                return 2
            gone = forget_workspace(session, args.team, dry_run=args.dry_run)
    finally:
        engine.dispose()
    if not gone:
        print(f"clinic-bot: nothing is kept for workspace {args.team}: nothing to delete")
    else:
        tables = ", ".join(f"{count:,} from {table}" for table, count in gone.items())
        verb = "would delete" if args.dry_run else "deleted"
        print(f"clinic-bot: {verb} {sum(gone.values()):,} row(s) of workspace {args.team}: {tables}")
    return 0


def _still_served(settings: Settings, team_id: str) -> str | None:
    """With one bot token, whether Slack says it still speaks for the workspace (a token Slack refuses was
    revoked with the app). Unsure, say so: deleting a workspace's data cannot be undone."""
    from bot.slack import REFUSED_TOKEN_ERRORS, SlackFailure, SlackGateway, new_web_client

    if settings.installs_per_workspace or settings.slack_bot_token is None:
        return None
    try:
        token = settings.slack_bot_token.get_secret_value()
        who = SlackGateway(new_web_client(token, settings.slack_api_url, timeout=5)).identity()
    except SlackFailure as exc:
        if exc.error in REFUSED_TOKEN_ERRORS:
            return None
        return f"may still be served by SLACK_BOT_TOKEN (Slack could not say: {exc.error}; try again later)"
    return "is still served by SLACK_BOT_TOKEN" if who.get("team_id") == team_id else None


def _export(settings: Settings, args: argparse.Namespace) -> int:
    from bot.export import ClinicExport, choose_clinics, write_csv, write_json
    from storage.db import make_engine, make_session_factory

    if args.format == "csv" and args.out is None:
        print("clinic-bot: --out FOLDER is needed for CSV (one file per table)", file=sys.stderr)
        return 2
    _schema_current(settings, "an export only reads")
    engine = make_engine(settings.database_url)
    try:
        with make_session_factory(engine)() as session:
            try:
                team_id, clinics = choose_clinics(session, args.team, args.clinic or [])
            except LookupError as exc:
                print(f"clinic-bot: {exc}", file=sys.stderr)
                return 2
            export = ClinicExport(session, team_id, [c.id for c in clinics])
            try:
                if args.format == "csv":
                    write_csv(export, args.out)
                elif args.out is None:
                    write_json(export, sys.stdout, SystemClock().now())
                else:
                    with args.out.open("w", encoding="utf-8") as file:
                        write_json(export, file, SystemClock().now())
            except OSError as exc:
                raise CannotStart(f"cannot write {exc.filename or args.out}: {exc.strerror or exc}") from None
    finally:
        engine.dispose()
    print(f"clinic-bot: exported {export.exported.describe()}", file=sys.stderr)
    return 0


def _run(settings: Settings, args: argparse.Namespace) -> int:
    mode = args.mode or ("socket" if settings.slack_app_token and not settings.installs_per_workspace else "http")
    if mode == "socket" and settings.installs_per_workspace:
        raise SettingsError("installing in several workspaces needs HTTP mode: the install pages are served over HTTP")
    _require(settings, "slack_bot_token", "slack_app_token" if mode == "socket" else "slack_signing_secret")
    bot = _build(settings, check_tokens=True)
    scheduler = None
    try:
        serve = _socket_mode(bot, settings) if mode == "socket" else _http(bot, settings, args)
        if not args.no_scheduler:
            from scheduler import build_scheduler

            scheduler = build_scheduler(bot.services, every_seconds=settings.pass_every_seconds)
        freeze_start_up_objects()
        if scheduler is not None:
            scheduler.start()
        bot.services.delivery.kick()  # whatever an earlier run left unsent
        log.info("starting", extra={"mode": mode, "scheduler": scheduler is not None})
        serve()
    finally:
        # Graceful, as in `scheduler`: claimed messages are handed back and the pass under way ends.
        bot.services.delivery.drain()
        if scheduler is not None and scheduler.running:
            scheduler.shutdown(wait=True)
        bot.close()
    log.info("stopped", extra={"mode": mode})
    return 0


def _http(bot, settings: Settings, args: argparse.Namespace) -> Callable[[], None]:  # type: ignore[no-untyped-def]
    from bot.web import create_web_app, listen, serve

    try:
        sock = listen(args.host, args.port)
    except OSError as exc:
        raise CannotStart(f"--port {args.port}: cannot listen on {args.host}:{args.port}: {exc.strerror}") from None
    web = create_web_app(bot.bolt, bot.services.health, threads=settings.request_threads)
    return lambda: serve(web, sock)


def freeze_start_up_objects() -> None:
    """What is built by now lives as long as the process. Frozen, it is left out of the collector's full
    sweeps, each of which would otherwise walk all of it while a request or a pass waits."""
    gc.freeze()


def _until_stopped() -> None:
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    # Python runs a signal's handler in the main thread, and only once that thread wakes: delivered to
    # another thread, the signal would not end a wait without a timeout.
    while not stop.wait(0.5):
        pass


def _socket_mode(bot, settings: Settings) -> Callable[[], None]:  # type: ignore[no-untyped-def]
    """Connect now, before the scheduler starts, so that an app token Slack refuses stops start-up with
    nothing sent. When Slack cannot be reached, start anyway (the scheduler's messages wait Slack out) and
    keep trying to connect in the background. Returns what serves until SIGTERM or SIGINT."""
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    from bot.slack import REFUSED_TOKEN_ERRORS

    handler = SocketModeHandler(bot.bolt, settings.slack_app_token.get_secret_value())  # type: ignore[union-attr]
    stopping = threading.Event()
    connecting = None
    if (error := _connect(handler)) is not None:
        if error in REFUSED_TOKEN_ERRORS:
            raise SettingsError(
                f"SLACK_APP_TOKEN: Slack refused it ({error}). Create an app-level token with connections:write "
                "under Basic Information, App-Level Tokens, at api.slack.com/apps."
            )
        connecting = threading.Thread(target=_keep_connecting, args=(handler, stopping), daemon=True)
        connecting.start()

    def serve() -> None:
        _until_stopped()
        stopping.set()
        if connecting is not None:
            connecting.join(timeout=10)
        handler.close()

    return serve


def _connect(handler) -> str | None:  # type: ignore[no-untyped-def]
    """Open Socket Mode; None once connected, else why not (Slack's error, or what kept us from Slack)."""
    from slack_sdk.errors import SlackApiError, SlackClientError

    try:
        handler.connect()
    except SlackApiError as exc:
        error = str(exc.response.get("error") or f"http_{exc.response.status_code}")
    except (SlackClientError, OSError) as exc:
        error = type(exc).__name__
    else:
        log.info("socket_mode_connected")
        return None
    log.warning("socket_mode_not_connected", extra={"error": error})
    return error


def _keep_connecting(handler, stopping: threading.Event) -> None:  # type: ignore[no-untyped-def]
    wait = 2.0
    while not stopping.wait(wait) and _connect(handler) is not None:
        wait = min(wait * 2, 60.0)


def _scheduler(settings: Settings, _args: argparse.Namespace) -> int:
    from scheduler import build_scheduler

    _require(settings, "slack_bot_token")
    bot = _build(settings, check_tokens=True)
    scheduler = build_scheduler(bot.services, every_seconds=settings.pass_every_seconds)
    freeze_start_up_objects()
    scheduler.start()
    log.info("scheduler_started", extra={"every_seconds": settings.pass_every_seconds})
    _until_stopped()
    # Graceful: the message in hand is finished and recorded, claimed ones are handed back, and the pass
    # under way ends; nothing is left half-sent for another process to send again.
    bot.services.delivery.drain()
    scheduler.shutdown(wait=True)
    log.info("scheduler_stopped")
    bot.close()
    return 0


def _tick(settings: Settings, args: argparse.Namespace) -> int:
    from bot.clock import ShiftedClock

    if not args.dry_run:
        _require(settings, "slack_bot_token")
    clock = ShiftedClock(args.now) if args.now else SystemClock()
    bot = _build(settings, clock, check_tokens=not args.dry_run, dry_run=args.dry_run)
    try:
        if args.dry_run:
            return _dry_run(bot)
        return _deliver_all(bot, settings.tick_timeout_seconds, real_time=not args.now)
    finally:
        bot.close()


def _dry_run(bot) -> int:  # type: ignore[no-untyped-def]
    report = bot.services.planner.plan(dry_run=True)
    owed = bot.services.delivery.owed()
    print(f"clinic-bot: dry run at {bot.services.clock.now():%Y-%m-%d %H:%M} UTC: nothing is sent")
    for planned in report.planned:
        when = (
            "now" if planned.not_before <= bot.services.clock.now() else f"at {planned.not_before:%Y-%m-%d %H:%M} UTC"
        )
        print(f"  would send to {planned.recipient} ({planned.team_id}) {when}: {planned.why}")
    for message in owed:
        print(f"  would deliver queued {message.kind} #{message.id} to {message.recipient}")
    if not report.planned and not owed:
        print("  nothing is due")
    return 0


def _deliver_all(bot, timeout: float, *, real_time: bool) -> int:  # type: ignore[no-untyped-def]
    """Plan, then deliver until nothing due is left unsent, waiting out Retry-After, for at most `timeout`."""
    from scheduler import run_pass

    deadline = time.monotonic() + timeout
    report = run_pass(bot.services, real_time=real_time)
    while owed := bot.services.delivery.owed():
        # A message another process leased (and may have died holding) waits for its lease to run out.
        wait = min(max(m.not_before, m.lease_until or m.not_before) for m in owed) - bot.services.clock.now()
        if time.monotonic() + max(0.0, wait.total_seconds()) > deadline:
            print(f"clinic-bot: {len(owed)} message(s) still unsent after {timeout:.0f}s:", file=sys.stderr)
            for message in owed:
                print(
                    f"  #{message.id} {message.kind} to {message.recipient}: {message.last_error or 'not yet tried'}",
                    file=sys.stderr,
                )
            return 3
        time.sleep(min(max(wait.total_seconds(), 0.05), 5.0))
        report += bot.services.delivery.deliver_due()
    print(
        f"clinic-bot: pass done: {report.sent} sent, {report.failed} failed, "
        f"{report.dropped} dropped (nothing left to say)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
