"""What an access-level badge shows (lists attach it to each row; `{% access_badge %}` uses it)."""

_BADGES = {"all": ("ok", "All"), "read": ("grey", "Read-Only"), "none": ("bad", "None")}


def access_badge(level: str) -> dict:
    css, label = _BADGES.get(level, _BADGES["none"])
    return {"css": css, "label": label}
