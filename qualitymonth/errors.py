"""Domain errors: raised by services, shown to people as a clear message in their language."""

from django.core.exceptions import PermissionDenied


class DomainError(Exception):
    """A business rule refused the action. `message` is translated (gettext_lazy)."""

    code = "invalid"

    def __init__(self, message, *, code: str | None = None, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        if code:
            self.code = code

    def __str__(self):
        return str(self.message)


class IllegalTransition(DomainError):
    code = "illegal_transition"


class EditConflict(DomainError):
    """Someone else changed or reviewed the object since the acting person loaded it."""

    code = "conflict"


class NotAllowed(PermissionDenied):
    """The acting person may not do this (a 403, or a 404 where existence must not leak)."""
