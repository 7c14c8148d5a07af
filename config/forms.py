from html import escape

from django.forms.renderers import DjangoTemplates
from django.utils.formats import localize
from django.utils.safestring import SafeData

# ---- widgets written in Python ----------------------------------------------------------------

# Django's own input widgets whose template is exactly `input.html`, and the textarea.
_INPUTS = frozenset(f"django/forms/widgets/{name}.html" for name in (
    "text", "password", "email", "number", "hidden", "url", "search", "tel", "date", "datetime", "time",
    "color",
))
_TEXTAREA = "django/forms/widgets/textarea.html"


def _escaped(value) -> str:
    """`conditional_escape`, without its lazy-text wrapper (a third of a form's time here)."""
    return value.__html__() if hasattr(value, "__html__") else escape(str(value))


def _attr_value(value) -> str:
    """`{{ value|stringformat:'s' }}`: the text of `value`, escaped unless it is already safe."""
    return value.__html__() if isinstance(value, SafeData) else escape(str(value))


def _attrs(attrs: dict) -> str:
    """django/forms/widgets/attrs.html."""
    out = []
    for name, value in attrs.items():
        if value is False:
            continue
        name = _escaped(name)
        out.append(f" {name}" if value is True else f' {name}="{_attr_value(value)}"')
    return "".join(out)


class FormRenderer(DjangoTemplates):
    """Django's form renderer, with its plain input widgets and textarea written in Python.

    A form with a dozen fields spent milliseconds in the widgets' templates (an include and an
    attribute loop each). These write the same HTML as Django's templates (the tests compare
    them, with the templates as this renderer finds them); every other widget goes through the
    templates."""

    def render(self, template_name, context, request=None):
        if template_name in _INPUTS:
            widget = context["widget"]
            kind, name = _escaped(widget["type"]), _escaped(widget["name"])
            value = "" if widget["value"] is None else f' value="{_attr_value(widget["value"])}"'
            return f'<input type="{kind}" name="{name}"{value}{_attrs(widget["attrs"])}>'
        if template_name == _TEXTAREA:
            widget = context["widget"]
            value = widget["value"]
            text = _escaped(localize(value)) if value else ""
            name = _escaped(widget["name"])
            return f'<textarea name="{name}"{_attrs(widget["attrs"])}>\n{text}</textarea>'
        return super().render(template_name, context, request)
