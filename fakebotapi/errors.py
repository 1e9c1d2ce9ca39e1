"""The fake's errors: those it raises to its caller, and the Bot API's error answers."""

from __future__ import annotations

from .records import JSONDict

__all__ = [
    "ApiError",
    "ClientGone",
    "FakeAPIError",
    "SimulatorError",
    "WaitTimeout",
    "bad_request",
]


class FakeAPIError(Exception):
    """Base class of the errors the fake raises to its *caller* (never sent over HTTP)."""


class SimulatorError(FakeAPIError, ValueError):
    """A simulated user did something a real one could not (press a missing button, ...)."""


class WaitTimeout(FakeAPIError, TimeoutError):
    """A ``wait_for*`` condition did not come true in time."""


class ApiError(Exception):
    """An error answer: HTTP status, Telegram's description and optional parameters."""

    def __init__(self, code: int, description: str, parameters: JSONDict | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters

    def payload(self) -> JSONDict:
        """The answer's JSON body, as Telegram words it."""
        payload: JSONDict = {"ok": False, "error_code": self.code, "description": self.description}
        if self.parameters:
            payload["parameters"] = self.parameters
        return payload


class ClientGone(Exception):
    """The client hung up (or the server is stopping) while its request was pending."""


def bad_request(what: str, parameters: JSONDict | None = None) -> ApiError:
    """Telegram's ``400 Bad Request: <what>``."""
    return ApiError(400, f"Bad Request: {what}", parameters)
