"""The service's own errors, each answered with its status by the middleware."""

from __future__ import annotations


class EngineUnavailable(RuntimeError):
    """The engine is not running (starting, stopped or crashed): a 503."""


class RegistrationRejected(RuntimeError):
    """The engine declined a trade (it kept no record of it): a 422."""


class RegistrationConflict(RuntimeError):
    """A registration that contradicts the live trade of the same ticket (another
    direction or symbol): a 409 naming ``field``, never silently accepted."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
