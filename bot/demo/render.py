"""Showing a transcript: in the terminal (rich) and as one self-contained HTML page, Slack's mrkdwn and Block
Kit turned into something a person reads. User text is escaped on the way into either."""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from rich.console import Console
from rich.markup import escape as rich_escape

from bot.demo.transcript import Moment, Transcript

_TOKEN = re.compile(r"<([^<>]+)>")
_STYLES = [
    (re.compile(r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])"), "bold"),
    (re.compile(r"(?<![\w_])_(?=\S)([^_\n]+?)(?<=\S)_(?![\w_])"), "italic"),
    (re.compile(r"(?<![\w~])~(?=\S)([^~\n]+?)(?<=\S)~(?![\w~])"), "strike"),
    (re.compile(r"`([^`\n]+)`"), "code"),
]


@dataclass(frozen=True)
class Markup:
    """How one output writes the pieces of mrkdwn."""

    escape: Callable[[str], str]
    styles: dict[str, tuple[str, str]]
    mention: Callable[[str], str]
    link: Callable[[str, str], str]


def mrkdwn(text: str, names: dict[str, str], channels: dict[str, str], out: Markup) -> str:
    """Slack mrkdwn to `out`: mentions by name, links by label, *bold* and friends, entities decoded."""
    tokens: list[str] = []

    def hold(match: re.Match[str]) -> str:
        inner = match.group(1)
        target, _, label = inner.partition("|")
        if target.startswith("@"):
            shown = out.mention("@" + names.get(target[1:], label or target[1:]))
        elif target.startswith("#"):
            shown = out.mention("#" + channels.get(target[1:], label or target[1:]))
        elif target.startswith("!"):
            shown = out.mention("@" + (label or target[1:].split("^")[0]))
        else:
            shown = out.link(_decode(target), _decode(label or target))
        tokens.append(shown)
        return f"\ue000{len(tokens) - 1}\ue001"

    held = _TOKEN.sub(hold, text)
    result = out.escape(_decode(held))
    for pattern, style in _STYLES:
        opening, closing = out.styles[style]
        result = pattern.sub(lambda m, o=opening, c=closing: f"{o}{m.group(1)}{c}", result)
    return re.sub("\ue000(\\d+)\ue001", lambda m: tokens[int(m.group(1))], result)


def emojize(text: str) -> str:
    return _EMOJI_CODE.sub(lambda m: EMOJI.get(m.group(1), m.group(0)), text)


def _decode(text: str) -> str:
    text = emojize(text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


_EMOJI_CODE = re.compile(r":([a-z0-9_+-]+):")
# The shortcodes the bot's messages use, as Slack shows them.
EMOJI = {
    "alarm_clock": "⏰",
    "calendar": "📆",
    "heavy_minus_sign": "➖",
    "hourglass": "⌛",
    "hourglass_flowing_sand": "⏳",
    "large_green_circle": "🟢",
    "no_entry": "⛔",
    "pushpin": "📌",
    "red_circle": "🔴",
    "rotating_light": "🚨",
    "small_red_triangle": "🔺",
    "speech_balloon": "💬",
    "spiral_calendar_pad": "🗓️",
    "tada": "🎉",
    "warning": "⚠️",
    "wave": "👋",
    "white_check_mark": "✅",
    "white_circle": "⚪",
}


# --- Block Kit, read into parts both outputs know how to show ---------------------------------------


@dataclass(frozen=True)
class Part:
    kind: str  # header | text | context | buttons | field | image_note
    texts: tuple[str, ...]
    styles: tuple[str, ...] = ()


def parts(moment: Moment) -> Iterator[Part]:
    if not moment.blocks:
        if moment.text:
            yield Part("text", (moment.text,))
        return
    for block in moment.blocks:
        kind = block.get("type")
        if kind == "header":
            yield Part("header", (emojize(block["text"]["text"]),))
        elif kind == "section":
            if block.get("text"):
                yield Part("text", (block["text"]["text"],))
            if block.get("fields"):
                yield Part("text", ("\n".join(f["text"] for f in block["fields"]),))
            accessory = block.get("accessory") or {}
            if accessory.get("type") == "button":
                yield Part("buttons", (emojize(accessory["text"]["text"]),), (accessory.get("style", ""),))
        elif kind == "context":
            yield Part("context", tuple(e["text"] for e in block.get("elements", []) if "text" in e))
        elif kind == "actions":
            buttons = [e for e in block.get("elements", []) if e.get("type") == "button"]
            others = [e for e in block.get("elements", []) if e.get("type") != "button"]
            if buttons:
                yield Part(
                    "buttons",
                    tuple(emojize(b["text"]["text"]) for b in buttons),
                    tuple(b.get("style", "") for b in buttons),
                )
            for element in others:
                label = (element.get("placeholder") or {}).get("text") or element.get("type", "")
                yield Part("buttons", (label + " ▾",), ("",))
        elif kind == "input":
            yield Part("field", (block["label"]["text"],))
        elif kind == "divider":
            yield Part("divider", ())


# --- the terminal ----------------------------------------------------------------------------------

_RICH = Markup(
    escape=rich_escape,
    styles={s: (f"[{s}]", f"[/{s}]") for s in ("bold", "italic", "strike")} | {"code": ("[cyan]", "[/cyan]")},
    mention=lambda name: f"[bold blue]{rich_escape(name)}[/bold blue]",
    link=lambda url, label: f"[link={url}]{rich_escape(label)}[/link]",
)


def print_moment(console: Console, transcript: Transcript, moment: Moment) -> None:
    names = {uid: p.name for uid, p in transcript.people.items()}

    def md(text: str) -> str:
        return mrkdwn(text, names, transcript.channels, _RICH)

    when = f"[dim]{rich_escape(transcript.when(moment))}[/dim]"
    if moment.place == "did":
        person = moment.seen_by
        assert person is not None
        console.print(f"{when}  [bold magenta]{rich_escape(person.name)}[/bold magenta] {md(moment.text)}\n")
        return
    who = "[bold]everyone[/bold]" if moment.seen_by is None else f"[bold]{rich_escape(moment.seen_by.name)}[/bold]"
    change = " (message updated)" if moment.updated else ""
    console.print(f"{when}  {who} [dim]· {rich_escape(transcript.where(moment))}{change} · Clinic Bot[/dim]")
    if moment.place == "form":
        console.print(f"    [reverse] {rich_escape(moment.text)} [/reverse]")
    if moment.image is not None:
        console.print(f"    [green]🖼  {rich_escape(moment.text)} (chart, {len(moment.image) // 1024} KB PNG)[/green]")
    for part in parts(moment):
        if part.kind == "header":
            console.print(f"    [bold underline]{rich_escape(part.texts[0])}[/bold underline]")
        elif part.kind == "text":
            for line in md(part.texts[0]).splitlines():
                console.print("    " + line)
        elif part.kind == "context":
            console.print("    [dim]" + " · ".join(md(t) for t in part.texts) + "[/dim]")
        elif part.kind == "buttons":
            labels = [
                f"[{'bold green' if s == 'primary' else 'bold red' if s == 'danger' else 'bold'}]"
                f"[ {rich_escape(t)} ][/]"
                for t, s in zip(part.texts, part.styles, strict=True)
            ]
            console.print("    " + "  ".join(labels))
        elif part.kind == "field":
            console.print(f"    {rich_escape(part.texts[0])}: [dim]________[/dim]")
    console.print()


# --- the HTML page ---------------------------------------------------------------------------------

_HTML = Markup(
    escape=lambda text: html.escape(text, quote=False),
    styles={
        "bold": ("<b>", "</b>"),
        "italic": ("<i>", "</i>"),
        "strike": ("<s>", "</s>"),
        "code": ("<code>", "</code>"),
    },
    mention=lambda name: f'<span class="mention">{html.escape(name)}</span>',
    link=lambda url, label: (
        f'<a href="{html.escape(url)}" rel="noopener noreferrer">{html.escape(label)}</a>'
        if url.startswith(("https://", "http://"))
        else html.escape(label)
    ),
)

_CSS = """
body{font:15px/1.45 -apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;margin:0;
background:#f4f4f6;color:#1d1c1d}
header{background:#3f0e40;color:#fff;padding:18px 28px}
header h1{margin:0 0 4px;font-size:21px}
header p{margin:0;opacity:.85}
main{max-width:860px;margin:0 auto;padding:18px}
.moment{display:flex;gap:12px;background:#fff;border-radius:8px;padding:12px 14px;margin:10px 0;
box-shadow:0 1px 2px rgba(0,0,0,.08)}
.moment.did{background:#fbf7ff;border-left:4px solid #8a3ffc}
.avatar{flex:none;width:36px;height:36px;border-radius:6px;background:#4a154b;color:#fff;display:flex;
align-items:center;justify-content:center;font-weight:700}
.avatar.person{background:#1264a3}
.body{flex:1;min-width:0}
.meta{font-size:13px;color:#616061;margin-bottom:4px}
.meta b{color:#1d1c1d;font-size:15px}
.where{display:inline-block;background:#eee;border-radius:4px;padding:0 6px;margin-left:4px}
.where.channel{background:#e8f5fa}
.where.only_you{background:#fff4d6}
.text{white-space:pre-wrap;word-wrap:break-word}
.header{font-weight:800;font-size:17px;margin:2px 0 6px}
.context{font-size:13px;color:#616061;margin:4px 0}
.buttons{margin:8px 0 2px;display:flex;flex-wrap:wrap;gap:6px}
.button{border:1px solid #bbb;border-radius:4px;padding:3px 11px;font-size:13px;font-weight:700;background:#fff}
.button.primary{background:#007a5a;border-color:#007a5a;color:#fff}
.button.danger{color:#e01e5a;border-color:#e01e5a}
.field{border:1px solid #ccc;border-radius:4px;padding:4px 8px;margin:4px 0;color:#616061}
.form-title{font-weight:800}
.mention{background:#e8f5fa;color:#1264a3;border-radius:3px;padding:0 2px}
code{background:#f6f6f6;border:1px solid #ddd;border-radius:3px;padding:0 3px;color:#e01e5a}
hr{border:0;border-top:1px solid #ddd}
img.chart{max-width:100%;border:1px solid #ddd;border-radius:6px;margin-top:6px}
footer{max-width:860px;margin:0 auto 30px;padding:0 18px;color:#616061;font-size:13px}
"""


def page(transcript: Transcript, title: str, subtitle: str) -> str:
    names = {uid: p.name for uid, p in transcript.people.items()}

    def md(text: str) -> str:
        return mrkdwn(text, names, transcript.channels, _HTML)

    rows = [_moment_html(transcript, moment, md) for moment in transcript.moments]
    return (
        "<!doctype html>\n<html lang=en><head><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width,initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>"
        f"<header><h1>{html.escape(title)}</h1><p>{html.escape(subtitle)}</p></header>"
        f"<main>{''.join(rows)}</main>"
        "<footer>Every message above was sent by the real Clinic Bot code to a local stand-in of Slack's Web API, "
        "which recorded it; nothing was sent to Slack.</footer></body></html>\n"
    )


def _moment_html(transcript: Transcript, moment: Moment, md: Callable[[str], str]) -> str:
    when = html.escape(transcript.when(moment))
    if moment.place == "did":
        person = moment.seen_by
        assert person is not None
        return (
            f'<div class="moment did"><div class="avatar person">{html.escape(person.name[:1])}</div>'
            f'<div class="body"><div class="meta"><b>{html.escape(person.name)}</b> '
            f"<span>({html.escape(person.role)})</span> · {when}</div>"
            f'<div class="text">{md(moment.text)}</div></div></div>'
        )
    who = "everyone in the channel" if moment.seen_by is None else moment.seen_by.name
    where = html.escape(transcript.where(moment)) + (" · updated" if moment.updated else "")
    inner: list[str] = []
    if moment.place == "form":
        inner.append(f'<div class="form-title">{html.escape(moment.text)}</div>')
    if moment.image is not None:
        data = base64.b64encode(moment.image).decode()
        inner.append(f'<div class="text">{html.escape(moment.text)}</div>')
        inner.append(f'<img class="chart" alt="{html.escape(moment.text)}" src="data:image/png;base64,{data}">')
    for part in parts(moment):
        inner.append(_part_html(part, md))
    return (
        f'<div class="moment bot"><div class="avatar">CB</div><div class="body">'
        f'<div class="meta"><b>Clinic Bot</b> → {html.escape(who)} '
        f'<span class="where {moment.place}">{where}</span> · {when}</div>{"".join(inner)}</div></div>'
    )


def _part_html(part: Part, md: Callable[[str], str]) -> str:
    if part.kind == "header":
        return f'<div class="header">{html.escape(part.texts[0])}</div>'
    if part.kind == "text":
        return f'<div class="text">{md(part.texts[0])}</div>'
    if part.kind == "context":
        return f'<div class="context">{" · ".join(md(t) for t in part.texts)}</div>'
    if part.kind == "buttons":
        buttons = "".join(
            f'<span class="button {html.escape(s)}">{html.escape(t)}</span>'
            for t, s in zip(part.texts, part.styles, strict=True)
        )
        return f'<div class="buttons">{buttons}</div>'
    if part.kind == "field":
        return f'<div class="field">{html.escape(part.texts[0])}</div>'
    return "<hr>"
