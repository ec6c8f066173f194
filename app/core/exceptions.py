"""The error every feature raises for a problem the user can fix."""

from __future__ import annotations


class UserError(ValueError):
    """A problem with what the user asked for; *message* is shown, next to *field* if given."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
