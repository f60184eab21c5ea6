"""A local stand-in of Slack's Web API for the tests and the demo: real HTTP on 127.0.0.1 that answers like
Slack and records every call. The running bot never uses it."""

from __future__ import annotations

import contextlib
import itertools
import json
import math
import random
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

JSON_FIELDS = ("blocks", "view", "attachments", "metadata", "files")
# The bot scopes that let a bot token call each method (any one of them will do), from Slack's method
# reference; a method not listed needs none.
SCOPES_NEEDED = {
    "users.info": {"users:read"},
    "conversations.open": {"im:write", "mpim:write", "channels:manage", "groups:write"},
    "conversations.info": {"channels:read", "groups:read", "im:read", "mpim:read"},
    "conversations.history": {"channels:history", "groups:history", "im:history", "mpim:history"},
    "chat.postMessage": {"chat:write"},
    "chat.postEphemeral": {"chat:write"},
    "chat.update": {"chat:write"},
    "chat.delete": {"chat:write"},
    "reactions.add": {"reactions:write"},
    "files.getUploadURLExternal": {"files:write"},
    "files.completeUploadExternal": {"files:write"},
}
ALT_TXT_LIMIT = 1000  # characters of an image's description for screen readers, in files.getUploadURLExternal
# Methods Slack reads only as form fields: a JSON body reaches them as no arguments at all.
FORM_ONLY = frozenset({"chat.getPermalink", "conversations.history", "users.info"})


@dataclass(frozen=True)
class Call:
    method: str
    params: dict[str, Any]
    token: str | None
    at: float


@dataclass
class _User:
    id: str
    name: str
    tz: str
    deleted: bool
    is_bot: bool
    team_id: str | None  # None: a member of whichever workspace asks (one stand-in serves several)
    email: str | None


@dataclass
class _Failure:
    status: int
    error: str | None
    retry_after: int | None


@dataclass
class _Bucket:
    """A token bucket: `rate` a second on average, at most `capacity` at once."""

    rate: float
    capacity: float
    tokens: float
    at: float

    def take(self, now: float) -> float:
        """Take a token (0.0), or say how many seconds until there is one."""
        self.tokens = min(self.capacity, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


@dataclass
class _Limits:
    per_channel: float
    workspace: float | None
    burst: int
    channels: dict[str, _Bucket] = field(default_factory=dict)
    teams: dict[str, _Bucket] = field(default_factory=dict)

    def check(self, team: str, channel: str, now: float) -> float:
        """0.0 when a post may go now (and it is counted), else the seconds until it could."""
        conversation = self.channels.setdefault(channel, _Bucket(self.per_channel, self.burst, self.burst, now))
        wait = conversation.take(now)
        if wait or self.workspace is None:
            return wait
        workspace = self.teams.setdefault(team, _Bucket(self.workspace, self.workspace, self.workspace, now))
        wait = workspace.take(now)
        if wait:
            conversation.tokens += 1  # refused after all: the conversation keeps its turn
        return wait


@dataclass
class _State:
    users: dict[str, _User] = field(default_factory=dict)
    channels: dict[str, str] = field(default_factory=dict)
    archived: set[str] = field(default_factory=set)
    dms: dict[str, str] = field(default_factory=dict)  # DM channel id -> user id
    history: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # channel id -> its messages, oldest first
    failures: dict[str, list[_Failure]] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    failed_calls: list[Call] = field(default_factory=list)
    rate_limited: list[Call] = field(default_factory=list)


class SlackStandIn:
    def __init__(
        self,
        *,
        team_id: str = "T0001",
        bot_user_id: str = "UBOT",
        latency: float = 0.0,
        scopes: Iterable[str] | None = None,
    ) -> None:
        """`scopes`: what the bot was granted at install; a call that needs another answers `missing_scope`
        as Slack does (None: every scope)."""
        self.team_id = team_id
        self.scopes = None if scopes is None else frozenset(scopes)
        self.bot_user_id = bot_user_id
        self.latency = latency
        self.socket_mode_url: str | None = None
        self._chaos: tuple[float, float, random.Random] | None = None
        self._limits: _Limits | None = None
        self.installed: dict[str, str] = {}  # bot token -> team, for workspaces installed by OAuth
        self.enterprise_id: str | None = None  # the Enterprise Grid org workspaces install in, if any
        self._state = _State()
        self._lock = threading.Lock()
        self._ts = itertools.count(1)
        self._ids = itertools.count(1)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle -----------------------------------------------------------------------------

    def start(self) -> SlackStandIn:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the caller went away
                    standin._serve(self)

            def do_GET(self) -> None:
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    standin._serve(self)

            def log_message(self, *_args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> SlackStandIn:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the stand-in first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def base_url(self) -> str:
        return self.url + "/api/"

    # --- the world -----------------------------------------------------------------------------

    def add_user(
        self,
        user_id: str,
        *,
        name: str | None = None,
        tz: str = "Europe/London",
        deleted: bool = False,
        is_bot: bool = False,
        team_id: str | None = None,
        email: str | None = None,
    ) -> None:
        with self._lock:
            self._state.users[user_id] = _User(user_id, name or user_id.lower(), tz, deleted, is_bot, team_id, email)

    def add_channel(self, channel_id: str, *, name: str) -> None:
        with self._lock:
            self._state.channels[channel_id] = name

    def archive(self, channel_id: str) -> None:
        """From now on, posts into the channel are refused with `is_archived`, as Slack does."""
        with self._lock:
            self._state.archived.add(channel_id)

    def response_url(self, key: str = "r") -> str:
        return f"{self.url}/response/{key}"

    def misbehave(self, *, rate_limited: float = 0.0, server_error: float = 0.0, seed: int = 0) -> None:
        """From now on, answer that share of Web API calls with a 429 (Retry-After: 1) or a 500."""
        with self._lock:
            self._chaos = (rate_limited, server_error, random.Random(seed))

    def limit(
        self, *, per_channel_per_second: float = 1.0, workspace_per_second: float | None = None, burst: int = 1
    ) -> None:
        """From now on, enforce Slack's limits on chat.postMessage as Slack does, answering a post beyond
        them with HTTP 429 and a Retry-After in whole seconds: `per_channel_per_second` into any one
        conversation (bursts of `burst`), and `workspace_per_second` across a workspace (bursts of one
        second's worth; None: no cap)."""
        with self._lock:
            self._limits = _Limits(per_channel_per_second, workspace_per_second, burst)

    def fail_next(
        self,
        method: str,
        *,
        error: str | None = None,
        status: int = 200,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        with self._lock:
            queue = self._state.failures.setdefault(method, [])
            queue.extend(_Failure(status, error, retry_after) for _ in range(times))

    # --- reading back --------------------------------------------------------------------------

    @property
    def calls(self) -> list[Call]:
        with self._lock:
            return list(self._state.calls)

    @property
    def failed_calls(self) -> list[Call]:
        with self._lock:
            return list(self._state.failed_calls)

    @property
    def rate_limited(self) -> list[Call]:
        """Every call answered with a 429, whatever the cause (limits, `misbehave`, `fail_next`)."""
        with self._lock:
            return list(self._state.rate_limited)

    def calls_to(self, method: str) -> list[Call]:
        return [call for call in self.calls if call.method == method]

    def messages_in(self, channel_id: str) -> list[Call]:
        return [c for c in self.calls_to("chat.postMessage") if c.params.get("channel") == channel_id]

    def messages_to(self, user_id: str) -> list[Call]:
        targets = {user_id, "D" + user_id}
        return [c for c in self.calls_to("chat.postMessage") if c.params.get("channel") in targets]

    def wait_for(self, predicate: Callable[[list[Call]], bool], timeout: float = 5.0) -> list[Call]:
        deadline = time.monotonic() + timeout
        while True:
            calls = self.calls
            if predicate(calls):
                return calls
            if time.monotonic() > deadline:
                summary = "\n".join(f"  {c.method} {json.dumps(c.params, default=str)[:200]}" for c in calls)
                raise AssertionError(f"timed out after {timeout}s; calls so far:\n{summary or '  (none)'}")
            time.sleep(0.01)

    def reset(self) -> None:
        with self._lock:
            self._state.calls.clear()
            self._state.failed_calls.clear()
            self._state.rate_limited.clear()

    # --- serving -------------------------------------------------------------------------------

    def _serve(self, request: BaseHTTPRequestHandler) -> None:
        """Each call is done at once and answered `latency` seconds later: a caller that stops waiting
        has still had its message posted, as with Slack."""
        parsed = urlparse(request.path)
        length = int(request.headers.get("Content-Length") or 0)
        raw = request.rfile.read(length) if length else b""
        token = None
        auth = request.headers.get("Authorization", "")
        if auth.startswith("Bearer "):
            token = auth[len("Bearer ") :]
        if parsed.path.startswith("/upload/"):
            file_id = parsed.path.rsplit("/", 1)[-1]
            self._record(Call("upload", {"file_id": file_id, "bytes": len(raw), "data": raw}, token, time.monotonic()))
            self._lag()
            _reply(request, 200, f"OK - {len(raw)}".encode(), "text/plain")
            return
        params = _params(parsed.query, raw, request.headers.get("Content-Type", ""))
        token = token or params.pop("token", None)
        if parsed.path.startswith("/response/"):
            params["_key"] = parsed.path[len("/response/") :]
            self._record(Call("response_url", params, token, time.monotonic()))
            self._lag()
            _reply(request, 200, b"ok", "text/plain")
            return
        method = parsed.path.removeprefix("/api/").strip("/")
        if method in FORM_ONLY and "json" in request.headers.get("Content-Type", ""):
            _reply(request, 200, json.dumps({"ok": False, "error": "invalid_arguments"}).encode(), "application/json")
            return
        call = Call(method, params, token, time.monotonic())
        params = {**params, "_token": token}
        with self._lock:
            queue = self._state.failures.get(method) or []
            failure = queue.pop(0) if queue else self._chaos_failure() or self._over_limits(method, params)
            if failure is not None:
                self._state.failed_calls.append(call)
                if failure.status == 429:
                    self._state.rate_limited.append(call)
        if failure is not None:
            self._lag()
            _fail(request, failure)
            return
        status, body = self._answer(method, params)
        if body.get("ok"):
            self._record(call)
        else:
            with self._lock:
                self._state.failed_calls.append(call)
        self._lag()
        _reply(request, status, json.dumps(body).encode(), "application/json; charset=utf-8")

    def _lag(self) -> None:
        if self.latency:
            time.sleep(self.latency)

    def _chaos_failure(self) -> _Failure | None:
        if self._chaos is None:
            return None
        rate_limited, server_error, rng = self._chaos
        roll = rng.random()
        if roll < rate_limited:
            return _Failure(429, None, 1)
        if roll < rate_limited + server_error:
            return _Failure(500, None, None)
        return None

    def _over_limits(self, method: str, p: dict[str, Any]) -> _Failure | None:
        if self._limits is None or method != "chat.postMessage":
            return None
        team = self.installed.get(str(p.get("_token", "")), self.team_id)
        wait = self._limits.check(team, self._dm_channel(str(p.get("channel", ""))), time.monotonic())
        return _Failure(429, None, max(1, math.ceil(wait))) if wait else None

    def _record(self, call: Call) -> None:
        with self._lock:
            self._state.calls.append(call)

    def _answer(self, method: str, p: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        answer = getattr(self, "_" + method.replace(".", "_"), None)
        if answer is None:
            return 200, {"ok": False, "error": "unknown_method"}
        needed = SCOPES_NEEDED.get(method, set())
        if self.scopes is not None and needed and not needed & self.scopes:
            needs, provided = ",".join(sorted(needed)), ",".join(sorted(self.scopes))
            return 200, {"ok": False, "error": "missing_scope", "needed": needs, "provided": provided}
        with self._lock:
            return 200, answer(p)

    # --- methods (called with the lock held) ---------------------------------------------------

    def _oauth_v2_access(self, p: dict[str, Any]) -> dict[str, Any]:
        """Slack's side of an OAuth install: the code names the workspace ("code-T0002" installs T0002)."""
        code = str(p.get("code", ""))
        if not code.startswith("code-"):
            return {"ok": False, "error": "invalid_code"}
        team_id = code.removeprefix("code-")
        token = f"xoxb-{team_id}-{next(self._ids):04d}-installed"
        self.installed[token] = team_id
        return {
            "ok": True,
            "app_id": "A0001",
            "authed_user": {"id": "UINSTALLER"},
            "scope": str(p.get("scope", "commands,chat:write")),
            "token_type": "bot",
            "access_token": token,
            "bot_user_id": "UBOT",
            "team": {"id": team_id, "name": f"Workspace {team_id}"},
            "enterprise": {"id": self.enterprise_id, "name": "Grid org"} if self.enterprise_id else None,
            "is_enterprise_install": False,
        }

    def _auth_test(self, p: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": "https://clinic.example.slack.com/",
            "team": "Clinic",
            "user": "clinic-bot",
            "team_id": self.installed.get(str(p.get("_token", "")), self.team_id),
            "user_id": self.bot_user_id,
            "bot_id": "B0001",
            "is_enterprise_install": False,
        }

    def _users_info(self, p: dict[str, Any]) -> dict[str, Any]:
        user = self._state.users.get(str(p.get("user", "")))
        if user is None:
            return {"ok": False, "error": "user_not_found"}
        try:
            zone = ZoneInfo(user.tz)
        except ZoneInfoNotFoundError:
            zone = ZoneInfo("UTC")
        offset = datetime.now(UTC).astimezone(zone).utcoffset()  # ok: a stand-in of Slack, not domain code
        return {
            "ok": True,
            "user": {
                "id": user.id,
                "team_id": user.team_id or self.installed.get(str(p.get("_token", "")), self.team_id),
                "name": user.name.lower().replace(" ", "."),
                "real_name": user.name,
                "deleted": user.deleted,
                "is_bot": user.is_bot,
                "tz": user.tz,
                "tz_label": user.tz,
                "tz_offset": int(offset.total_seconds()) if offset else 0,
                "profile": {"real_name": user.name, "display_name": user.name, "email": user.email},
            },
        }

    def _conversations_open(self, p: dict[str, Any]) -> dict[str, Any]:
        user_id = str(p.get("users", "")).split(",")[0]
        if user_id not in self._state.users:
            return {"ok": False, "error": "user_not_found"}
        self._state.dms["D" + user_id] = user_id
        return {"ok": True, "channel": {"id": "D" + user_id}}

    def _recipient_error(self, channel: str) -> str | None:
        user_id = self._state.dms.get(channel) or (channel if channel[:1] in ("U", "W") else None)
        if channel.startswith("D") and user_id is None:
            user_id = channel[1:]
        if user_id is not None:
            user = self._state.users.get(user_id)
            if user is None:
                return "channel_not_found"
            return "account_inactive" if user.deleted else None
        if channel[:1] in ("C", "G"):
            return "is_archived" if channel in self._state.archived else None
        return "channel_not_found"

    def _dm_channel(self, channel: str) -> str:
        return "D" + channel if channel[:1] in ("U", "W") else channel

    def _chat_postMessage(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = str(p.get("channel", ""))
        error = self._recipient_error(channel) if channel else "channel_not_found"
        if error:
            return {"ok": False, "error": error}
        if not p.get("text") and not p.get("blocks"):
            return {"ok": False, "error": "no_text"}
        ts = f"{1_764_000_000 + next(self._ts)}.000100"
        channel = self._dm_channel(channel)
        message = {"type": "message", "text": p.get("text", ""), "blocks": p.get("blocks"), "ts": ts}
        if p.get("metadata"):
            message["metadata"] = p["metadata"]
        if not p.get("thread_ts"):
            self._state.history.setdefault(channel, []).append(message)
        return {"ok": True, "channel": channel, "ts": ts, "message": message}

    def _conversations_history(self, p: dict[str, Any]) -> dict[str, Any]:
        """The channel's messages, newest first; their metadata only when asked for, as Slack does."""
        channel = str(p.get("channel", ""))
        if channel not in self._state.history and not (channel in self._state.dms or channel[:1] in ("C", "G")):
            return {"ok": False, "error": "channel_not_found"}
        with_metadata = str(p.get("include_all_metadata", "")).lower() in ("1", "true")
        newest = list(reversed(self._state.history.get(channel, [])))[: int(p.get("limit") or 100)]
        messages = [m if with_metadata else {k: v for k, v in m.items() if k != "metadata"} for m in newest]
        return {"ok": True, "messages": messages, "has_more": False}

    def _chat_postEphemeral(self, p: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "message_ts": f"{1_764_000_000 + next(self._ts)}.000200"}

    def _chat_update(self, p: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "channel": p.get("channel"), "ts": p.get("ts"), "text": p.get("text", "")}

    def _chat_delete(self, p: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "channel": p.get("channel"), "ts": p.get("ts")}

    def _chat_getPermalink(self, p: dict[str, Any]) -> dict[str, Any]:
        channel, ts = str(p.get("channel", "")), str(p.get("message_ts", ""))
        return {
            "ok": True,
            "channel": channel,
            "permalink": f"https://clinic.example.slack.com/archives/{channel}/p{ts.replace('.', '')}",
        }

    def _view(self, view: Any) -> dict[str, Any]:
        view = dict(view or {})
        view.update({"id": f"V{next(self._ids):06d}", "team_id": self.team_id})
        return {"ok": True, "view": view}

    def _views_open(self, p: dict[str, Any]) -> dict[str, Any]:
        if p.get("trigger_id") == "expired":
            return {"ok": False, "error": "expired_trigger_id"}
        return self._view(p.get("view"))

    def _views_push(self, p: dict[str, Any]) -> dict[str, Any]:
        return self._views_open(p)

    def _views_update(self, p: dict[str, Any]) -> dict[str, Any]:
        return self._view(p.get("view"))

    def _views_publish(self, p: dict[str, Any]) -> dict[str, Any]:
        return self._view(p.get("view"))

    def _conversations_info(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = str(p.get("channel", ""))
        if channel not in self._state.channels:
            return {"ok": False, "error": "channel_not_found"}
        return {
            "ok": True,
            "channel": {
                "id": channel,
                "name": self._state.channels[channel],
                "is_channel": True,
                "is_member": True,
            },
        }

    def _reactions_add(self, _p: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True}

    def _files_getUploadURLExternal(self, p: dict[str, Any]) -> dict[str, Any]:
        if len(p.get("alt_txt") or "") > ALT_TXT_LIMIT:
            return {"ok": False, "error": "alt_txt_too_large"}
        file_id = f"F{next(self._ids):06d}"
        return {"ok": True, "upload_url": f"{self.url}/upload/{file_id}", "file_id": file_id}

    def _files_completeUploadExternal(self, p: dict[str, Any]) -> dict[str, Any]:
        files = p.get("files") or []
        return {"ok": True, "files": [{"id": f.get("id"), "title": f.get("title")} for f in files]}

    def _apps_connections_open(self, _p: dict[str, Any]) -> dict[str, Any]:
        if not self.socket_mode_url:
            return {"ok": False, "error": "invalid_auth"}
        return {"ok": True, "url": self.socket_mode_url}


def _params(query: str, raw: bytes, content_type: str) -> dict[str, Any]:
    params: dict[str, Any] = dict(parse_qsl(query))
    if raw:
        if "json" in content_type:
            try:
                body = json.loads(raw)
            except ValueError:
                body = {}
            if isinstance(body, dict):
                params.update(body)
        else:
            params.update(parse_qsl(raw.decode("utf-8", errors="replace"), keep_blank_values=True))
    for name in JSON_FIELDS:
        if isinstance(params.get(name), str):
            with contextlib.suppress(ValueError):
                params[name] = json.loads(params[name])
    for flag in ("replace_original", "delete_original"):
        if isinstance(params.get(flag), str):
            params[flag] = params[flag].lower() == "true"
    return params


def _reply(
    request: BaseHTTPRequestHandler,
    status: int,
    body: bytes,
    content_type: str,
    headers: dict[str, str] | None = None,
) -> None:
    request.send_response(status)
    request.send_header("Content-Type", content_type)
    request.send_header("Content-Length", str(len(body)))
    for name, value in (headers or {}).items():
        request.send_header(name, value)
    request.end_headers()
    request.wfile.write(body)


def _fail(request: BaseHTTPRequestHandler, failure: _Failure) -> None:
    if failure.status == 429:
        body = json.dumps({"ok": False, "error": "ratelimited"}).encode()
        _reply(request, 429, body, "application/json", {"Retry-After": str(failure.retry_after or 1)})
    elif failure.status >= 500:
        _reply(request, failure.status, b"upstream trouble", "text/plain")
    else:
        body = json.dumps({"ok": False, "error": failure.error or "fatal_error"}).encode()
        _reply(request, 200, body, "application/json")


def text_in(node: Any) -> str:
    """Every piece of text in a message, view or answer: each `text` string, at any depth, one a line."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "text" and isinstance(value, str):
                    found.append(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(node)
    return "\n".join(found)


def blocks_text(call: Call) -> str:
    """What a call showed: its `text`, its blocks, or its view's blocks."""
    return text_in({k: call.params.get(k) for k in ("text", "blocks", "view")})
