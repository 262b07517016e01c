"""Domain errors raised by services; app.main renders them as HTML, htmx fragments or JSON."""


class DomainError(Exception):
    status_code = 400

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(DomainError):
    status_code = 404


class Forbidden(DomainError):
    status_code = 403


class Conflict(DomainError):
    """The client's version of a task is stale; `current` is the task as it is now."""

    status_code = 409

    def __init__(self, message: str, *, current: object | None = None) -> None:
        super().__init__(message)
        self.current = current


class RuleViolation(DomainError):
    """Input that is well-formed but breaks a rule (a reason is required, a date is outside
    the plan, …); `field` names the offending field."""

    status_code = 422


class NotAuthenticated(DomainError):
    status_code = 401


class PasswordChangeRequired(DomainError):
    """The user logged in with a one-time password and must choose their own first."""

    status_code = 403


class Busy(DomainError):
    """A concurrent change kept the database from settling this one (a serialization failure
    or deadlock that persisted through the retries, or SQLite's busy timeout); nothing was
    changed and the client may simply try again. 409, like a stale version."""

    status_code = 409
