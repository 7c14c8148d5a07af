"""What a project name is, for comparing: NFKC, without invisible characters, case-folded, with
letters that look Latin mapped to it. "Pеrsonal" (Cyrillic е) or "Per​sonal" (a zero-width space)
are then "personal", so reserved and duplicate names cannot be got around by look-alikes."""

from __future__ import annotations

import unicodedata

# Cyrillic and Greek letters drawn like Latin ones (the common part of Unicode's confusables).
_LOOKALIKES = str.maketrans({
    "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p",
    "с": "c", "т": "t", "у": "y", "х": "x", "і": "i", "ї": "i", "ј": "j", "ѕ": "s", "ԁ": "d",
    "ԛ": "q", "ԝ": "w", "һ": "h", "ӏ": "l",
    "α": "a", "β": "b", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p",
    "τ": "t", "υ": "u", "χ": "x", "ζ": "z", "μ": "u",
})


def _invisible(ch: str) -> bool:
    # Format characters (zero-width space/joiners, soft hyphen, BOM, bidi marks) show nothing.
    return unicodedata.category(ch) == "Cf"


def has_control_characters(text: str) -> bool:
    return any(unicodedata.category(ch) == "Cc" for ch in text)


def clean_display(text: str) -> str:
    """The name as stored: NFKC, invisible characters removed, spaces trimmed."""
    text = unicodedata.normalize("NFKC", text or "")
    return "".join(ch for ch in text if not _invisible(ch)).strip()


def skeleton(text: str) -> str:
    """The form two names are compared in."""
    folded = clean_display(text).casefold().translate(_LOOKALIKES)
    return " ".join(folded.split())
