"""The one error shape of every form: a message per field."""

from app.errors import RuleViolation

# Where a message about the whole form (not one field) goes.
FORM_KEY = "_form"


class FormErrors(RuleViolation):
    """Several fields are wrong at once; `errors` maps each field to its message."""

    def __init__(self, errors: dict[str, str]) -> None:
        field, message = next(iter(errors.items()))
        super().__init__(message, field=field)
        self.errors = errors

    @classmethod
    def of(cls, exc: RuleViolation) -> "FormErrors":
        """The same shape for a single-field violation (from another service)."""
        if isinstance(exc, FormErrors):
            return exc
        return cls({exc.field or FORM_KEY: exc.message})
