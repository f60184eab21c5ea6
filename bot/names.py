"""Names and titles people type (actions, clinics, focus areas, indicators): the one rule for what counts as
written, so that a name which would show as blank is refused everywhere an empty one is."""

from __future__ import annotations

import unicodedata


def clean_name(text: str) -> str:
    """One line with single spaces, or "" when nothing in it would show: only spaces and invisible format
    characters (zero-width space, joiners, direction marks, BOM: Unicode category Cf), which `str.split`
    does not treat as space. Visible text keeps them: a joiner inside an emoji is part of it."""
    name = " ".join(text.split())
    return name if any(unicodedata.category(c) != "Cf" for c in name.replace(" ", "")) else ""
