"""The layout's pieces for every template: its fixed links (`links.…`), its `<head>` tags and
header (`config.layout`)."""

from __future__ import annotations

from config import layout as _layout


def layout(request) -> dict:
    return _layout.context(request)
