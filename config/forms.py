from django.core.exceptions import ValidationError


def apply_service_errors(form, exc: ValidationError, default_field: str | None = None) -> None:
    """Put a service's ValidationError on a form: each message on the field it names when the form
    has that field, else on `default_field`; a message that names no field goes on top of the form
    (its non-field errors)."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else default_field, errors)
    else:
        form.add_error(None, exc.messages)
