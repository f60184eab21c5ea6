"""The one place user text becomes Slack text: escaped for mrkdwn and marked verbatim, so a title that
contains `<!channel>` or `<https://evil|trusted>` can never ping anyone or disguise a link; and the one place
text Slack sends becomes what the person typed again."""

from __future__ import annotations

import re
from collections.abc import Sequence

from slack_sdk.models.blocks import MarkdownTextObject, PlainTextObject, SectionBlock

_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,30}$")
_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{2,30}$")


def esc(text: str) -> str:
    """Escape the three characters Slack's mrkdwn treats as control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def unescape(text: str) -> str:
    """The reverse of `esc`: what a person typed, from text Slack sends encoded. In slash commands, message
    text and message events Slack writes a typed `&`, `<` and `>` as `&amp;`, `&lt;` and `&gt;`, while its
    own `<@U123>`, `<#C123|name>` and `<https://...>` keep literal brackets: read those first. Form values
    arrive as typed and must not pass through here."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


_MARKUP = re.compile(r"<([@#!])([^|>]*)(?:\|([^>]*))?>|<((?:https?|mailto):[^|>]*)(?:\|([^>]*))?>")


def readable(text: str) -> str:
    """Slack's own markup in a slash command's text as a person reads it, for text the bot keeps and shows
    again, escaped, as plain words (an action's title): `<@U1|olu>` as @olu, `<#C1|rota>` as #rota,
    `<!here>` as @here, a link as its label, else its address. Typed `&lt;` stays for `unescape`."""

    def one(match: re.Match[str]) -> str:
        sigil, ref, label, link, link_label = match.groups()
        if link is not None:
            return link_label or link.removeprefix("mailto:")
        name = (label or ref.split("^")[0]).lstrip("@#")
        return ("#" if sigil == "#" else "@") + name

    return _MARKUP.sub(one, text)


def clip(text: str, limit: int) -> str:
    """Plain text cut to `limit` characters, for places that show it as it is (never escaped after)."""
    text = _tidy(text)
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def quote(text: str, limit: int) -> str:
    """User text escaped for mrkdwn and cut to at most `limit` characters of what Slack counts, never in the
    middle of an escape: escaping can make text five times longer, past the length a block allows."""
    text = esc(_tidy(text))
    if len(text) <= limit:
        return text
    cut = limit - 1
    start = text.rfind("&", 0, cut)
    if start != -1 and text.index(";", start) >= cut:
        cut = start  # every `&` here begins an escape: drop it whole rather than leave `&am`
    return text[:cut].rstrip() + "…"


def _tidy(text: str) -> str:
    """One line stays one line with single spaces; several lines keep their breaks."""
    return " ".join(text.split()) if "\n" not in text else text.strip()


def md(text: str) -> MarkdownTextObject:
    """A mrkdwn text object for text we assembled (user parts already passed through `esc`)."""
    return MarkdownTextObject(text=text, verbatim=True)


def plain(text: str, limit: int = 75) -> PlainTextObject:
    return PlainTextObject(text=clip(text, limit), emoji=True)


def mention(user_id: str) -> str:
    """A user mention, only ever built from an id that looks like a Slack user id."""
    if not _USER_ID.match(user_id):
        raise ValueError("not a Slack user id")
    return f"<@{user_id}>"


def is_channel_id(value: str) -> bool:
    return bool(_CHANNEL_ID.match(value))


SHOWN = 10  # lines of a list in a message; the rest are counted
SECTION_LIMIT = 2900  # Slack refuses a section of more than 3000 characters; this leaves room for "and N more"


def listing(title: str, lines: Sequence[str], more: str, *, at_most: int = SHOWN) -> tuple[SectionBlock, int]:
    """A titled list in one section, cut at whole lines (at most `at_most`, and never past a section's
    limit: escaped titles can be several times their typed length), ending with how many more and
    `more`; and how many of the lines it shows."""
    size, shown = len(title), min(len(lines), at_most)
    for count, line in enumerate(lines[:at_most]):
        size += 1 + len(line)
        if size > SECTION_LIMIT:
            shown = count
            break
    rest = [f"…and {len(lines) - shown} more{more}"] if shown < len(lines) else []
    return SectionBlock(text=md("\n".join([title, *lines[:shown], *rest]))), shown
