"""Names and titles people type (actions, clinics, focus areas, indicators): the one rule for what counts as
written, so that a name which would show as blank is refused everywhere an empty one is."""

from __future__ import annotations

import unicodedata

# Letters and symbols that fonts draw as empty space, which neither `str.split` nor the Cf category catches:
# the Hangul fillers and the empty Braille cell.
BLANK_GLYPHS = frozenset("\u115f\u1160\u3164\uffa0\u2800")


def clean_name(text: str) -> str:
    """One line with single spaces, or "" when nothing in it would show: only spaces, invisible format
    characters (zero-width space, joiners, direction marks, BOM: Unicode category Cf), which `str.split`
    does not treat as space, and BLANK_GLYPHS. Visible text keeps them: a joiner inside an emoji is part
    of it."""
    name = " ".join(text.split())
    return name if any(unicodedata.category(c) != "Cf" and c not in BLANK_GLYPHS for c in name.replace(" ", "")) else ""
