"""The form renderer writes the plain input widgets and the textarea in Python: the same HTML as
Django's templates for every case (attributes true, false and escaped; values none, safe, typed,
localized; secrets never echoed)."""

import datetime as dt

import pytest
from django import forms
from django.forms.renderers import DjangoTemplates
from django.utils.safestring import mark_safe

from config.forms import FormRenderer
from projects.forms_keys import KeyForm, SecretForm, SecretTextarea
from projects.keys import KEY_SPECS

ATTRS = [
    {},
    {"placeholder": 'a "quoted" <b>tag</b> & more', "autocomplete": "off", "required": True, "disabled": False},
    {"data-x": mark_safe("<i>safe</i>"), "rows": 4, "class": "a b", "aria-invalid": "true", "maxlength": 255},
]
VALUES = [None, "", "plain", 'o\'hara "<script>" & co', mark_safe("<b>safe</b>"), 42, 3.5,
          dt.date(2026, 11, 30), dt.datetime(2026, 11, 30, 12, 5)]
pytestmark = pytest.mark.django_db  # the suite seeds its data once per session

WIDGETS = [
    forms.TextInput, forms.PasswordInput, lambda **kw: forms.PasswordInput(render_value=True, **kw),
    forms.EmailInput, forms.NumberInput, forms.HiddenInput, forms.URLInput, forms.SearchInput,
    forms.TelInput, forms.DateInput, forms.DateTimeInput, forms.TimeInput, forms.ColorInput,
    forms.Textarea, SecretTextarea,
]


@pytest.mark.parametrize("widget_class", WIDGETS)
def test_each_widget_writes_what_djangos_templates_write(widget_class):
    ours, django = FormRenderer(), DjangoTemplates()
    for attrs in ATTRS:
        for value in VALUES:
            widget = widget_class(attrs=dict(attrs))
            expected = widget.render("field_name", value, attrs={"id": "id_x"}, renderer=django)
            assert widget.render("field_name", value, attrs={"id": "id_x"}, renderer=ours) == expected, (attrs, value)


def test_other_widgets_go_through_the_templates():
    ours, django = FormRenderer(), DjangoTemplates()
    for widget in (forms.Select(choices=[("a", "A<"), ("b", "B")]), forms.CheckboxInput(),
                   forms.ClearableFileInput(), forms.CheckboxSelectMultiple(choices=[("x", "X")])):
        assert widget.render("f", "a", renderer=ours) == widget.render("f", "a", renderer=django)


def test_the_key_forms_render_the_same_and_never_echo_a_secret():
    ours, django = FormRenderer(), DjangoTemplates()
    for spec in KEY_SPECS.values():
        data = {name: 'x"<y>' for name in [f.name for f in spec.public] + ["secret"]}
        for is_set in (False, True):
            for args in ((), (data,)):
                forms_ = [KeyForm(*args, spec=spec, is_set=is_set, renderer=r) for r in (ours, django)]
                for form in forms_:
                    form.is_valid()
                for field in forms_[0]:
                    assert str(field) == str(forms_[1][field.name])
                    assert 'x"<y>' not in str(field)
                    if field.name == "secret":
                        assert "x&quot;&lt;y&gt;" not in str(field)  # a secret is never written back
    secret = SecretForm({"name": "WANDB", "value": "s3cret"}, renderer=ours)
    assert "s3cret" not in str(secret["value"]) and 'value="WANDB"' in str(secret["name"])


def test_the_plain_inputs_do_not_go_through_the_templates(monkeypatch):
    def refuse(self, template_name):
        raise AssertionError(f"{template_name} went through the templates")

    monkeypatch.setattr(FormRenderer, "get_template", refuse)
    ours = FormRenderer()
    for widget in (forms.TextInput(), forms.PasswordInput(), forms.Textarea(), forms.EmailInput()):
        assert widget.render("a", "b", renderer=ours).startswith(("<input", "<textarea"))
    with pytest.raises(AssertionError, match="select.html"):
        forms.Select(choices=[("a", "A")]).render("a", "a", renderer=ours)
