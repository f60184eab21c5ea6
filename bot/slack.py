"""A thin adapter over slack_sdk's WebClient that turns Slack's error strings into typed exceptions,
so delivery and lookups read as policy rather than as string matching."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

# Errors after which sending to that recipient again cannot succeed: record them, tell a human.
PERMANENT_ERRORS = frozenset(
    {
        "channel_not_found",
        "user_not_found",
        "account_inactive",
        "user_disabled",
        "is_archived",
        "not_in_channel",
        "cannot_dm_bot",
        "invalid_blocks",
        "msg_too_long",
        "no_text",
        "restricted_action",
        "invalid_auth",
        "not_authed",
        "token_revoked",
        "missing_scope",
    }
)


# What Slack answers about a token it will never accept: starting with it would only fail every message.
REFUSED_TOKEN_ERRORS = frozenset({"invalid_auth", "not_authed", "token_revoked", "account_inactive"})


class SlackFailure(Exception):
    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


class RateLimited(SlackFailure):
    def __init__(self, retry_after: float) -> None:
        super().__init__("ratelimited")
        self.retry_after = retry_after


class LookupThrottled(SlackFailure):
    """Slack asked us to wait before reading a DM again (its methods have their own limits): the message
    being looked for waits, and posting to the workspace is not held back."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"looking for an earlier try: ratelimited (Retry-After {retry_after:g} s)")
        self.retry_after = retry_after


class RecipientGone(SlackFailure):
    """A permanent failure: the user, channel or token will not come back by retrying."""


class SlackUnavailable(SlackFailure):
    """5xx, timeouts and dropped connections: worth retrying later."""


@dataclass(frozen=True)
class SlackProfile:
    """A Slack user object (users.info, `user_change`) as far as we read it."""

    user_id: str
    name: str
    tz: str
    deleted: bool
    is_bot: bool
    teams: frozenset[str] = frozenset()  # the workspaces they are a member of; empty when Slack did not say
    stranger: bool = False  # Slack's `is_stranger`: from an organisation that shares no channel with this one

    @classmethod
    def from_user(cls, user: dict[str, Any]) -> SlackProfile:
        profile = user.get("profile") or {}
        # On Enterprise Grid `team_id` is one of the person's workspaces, not necessarily this one: the others
        # are in `teams` (and `enterprise_user.teams`).
        teams = {
            user.get("team_id"),
            *(user.get("teams") or ()),
            *((user.get("enterprise_user") or {}).get("teams") or ()),
        }
        return cls(
            user_id=user["id"],
            name=profile.get("display_name") or profile.get("real_name") or user.get("name") or "",
            tz=user.get("tz") or "UTC",
            deleted=bool(user.get("deleted")),
            is_bot=bool(user.get("is_bot")) or user["id"] == "USLACKBOT",
            teams=frozenset(str(team) for team in teams if team),
            stranger=bool(user.get("is_stranger")),
        )

    def member_of(self, team_id: str) -> bool:
        """Whether they belong to the workspace `team_id`: not a Slack Connect user from another organisation
        in a shared channel, nor someone of another workspace of the same Enterprise Grid organisation."""
        return not self.stranger and (not self.teams or team_id in self.teams)


@dataclass(frozen=True)
class Posted:
    channel: str
    ts: str


def new_web_client(token: str | None, base_url: str, *, timeout: int = 10) -> WebClient:
    """A client with no automatic retries: callers own their retries (a blind re-POST can post twice)."""
    return WebClient(token=token, base_url=base_url, timeout=timeout, retry_handlers=[])


def quick_client(client: WebClient, timeout: int = 2) -> WebClient:
    """The same identity with a short timeout, for lookups that sit before an ack."""
    return WebClient(token=client.token, base_url=client.base_url, timeout=timeout, retry_handlers=[])


# The message metadata every outbox post carries (invisible to people), so that a try whose answer was
# lost can be found in the recipient's DM instead of being posted twice.
OUTBOX_EVENT = "clinic_bot_outbox"
LOOK_BACK = 50  # the bot's latest messages in a DM searched for one a lost answer may have posted


def outbox_metadata(key: str) -> dict[str, Any]:
    return {"event_type": OUTBOX_EVENT, "event_payload": {"key": key}}


@contextmanager
def _translated() -> Iterator[None]:
    """slack_sdk's exceptions as ours."""
    try:
        yield
    except SlackApiError as exc:
        raise _classify(exc) from None
    except (SlackClientError, OSError, TimeoutError) as exc:
        raise SlackUnavailable(type(exc).__name__) from None


class SlackGateway:
    def __init__(self, client: WebClient) -> None:
        self.client = client

    def _call(self, method: str, **params: Any) -> dict[str, Any]:
        with _translated():
            return self.client.api_call(method, json=params).data  # type: ignore[return-value]

    def identity(self) -> dict[str, Any]:
        """Who the token speaks for (auth.test): its team and bot user."""
        return self._call("auth.test")

    def profile(self, user_id: str) -> SlackProfile:
        with _translated():
            response = self.client.users_info(user=user_id)
        return SlackProfile.from_user(response["user"])

    def post(
        self,
        channel: str,
        text: str,
        blocks: list[dict[str, Any]] | None = None,
        *,
        thread_ts: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> Posted:
        params: dict[str, Any] = {"channel": channel, "text": text, "unfurl_links": False}
        if blocks:
            params["blocks"] = blocks
        if thread_ts:
            params["thread_ts"] = thread_ts
        if metadata:
            params["metadata"] = metadata
        data = self._call("chat.postMessage", **params)
        return Posted(channel=data["channel"], ts=data["ts"])

    def upload(self, upload) -> Posted:  # type: ignore[no-untyped-def]
        """A file into a conversation through Slack's external upload flow (files_upload_v2)."""
        with _translated():
            self.client.files_upload_v2(
                channel=upload.channel,
                content=upload.content,
                filename=upload.filename,
                title=upload.title,
                thread_ts=upload.thread_ts,
                alt_txt=upload.alt_text,
            )
        return Posted(channel=upload.channel, ts=upload.thread_ts or "")

    def share_files(self, user_id: str, paths: Sequence[Path], comment: str) -> None:
        """Files into a person's DM with the bot (files_upload_v2 wants the conversation, not the user)."""
        channel = self._call("conversations.open", users=user_id)["channel"]["id"]
        uploads = [{"file": str(path), "filename": path.name, "title": path.name} for path in paths]
        with _translated():
            self.client.files_upload_v2(channel=channel, file_uploads=uploads, initial_comment=comment)

    def find_posted(self, user_id: str, key: str) -> Posted | None:
        """The outbox message with this key in the person's DM with the bot, if an earlier try posted it
        after all. None when it is not there, or when the DM cannot be read (then it may be posted twice)."""
        try:
            channel = self._call("conversations.open", users=user_id)["channel"]["id"]
            with _translated():  # conversations.history takes form parameters, not JSON
                response = self.client.conversations_history(
                    channel=channel, limit=LOOK_BACK, include_all_metadata=True
                )
        except RateLimited as exc:
            raise LookupThrottled(exc.retry_after) from None
        except RecipientGone as exc:
            if exc.error != "missing_scope":
                raise
            return None
        except SlackUnavailable:
            raise
        except SlackFailure:
            return None
        for message in response.get("messages") or []:
            metadata = message.get("metadata") or {}
            if metadata.get("event_type") == OUTBOX_EVENT and (metadata.get("event_payload") or {}).get("key") == key:
                return Posted(channel=channel, ts=message["ts"])
        return None

    def permalink(self, channel: str, ts: str) -> str | None:
        try:
            with _translated():  # chat.getPermalink takes form parameters, not JSON
                return self.client.chat_getPermalink(channel=channel, message_ts=ts).get("permalink")
        except SlackFailure:
            return None

    def react(self, channel: str, ts: str, name: str) -> None:
        self._call("reactions.add", channel=channel, timestamp=ts, name=name)


def _classify(exc: SlackApiError) -> SlackFailure:
    response = exc.response
    status = getattr(response, "status_code", 200)
    if status == 429:
        retry_after = float(response.headers.get("Retry-After", response.headers.get("retry-after", 1)))
        return RateLimited(retry_after)
    if status >= 500:
        return SlackUnavailable(f"http_{status}")
    error = str(response.get("error", "unknown_error")) if response is not None else "unknown_error"
    if error in PERMANENT_ERRORS:
        return RecipientGone(error)
    if error in ("ratelimited", "rate_limited"):
        return RateLimited(1.0)
    if error in ("internal_error", "fatal_error", "service_unavailable", "request_timeout"):
        return SlackUnavailable(error)
    return SlackFailure(error)
