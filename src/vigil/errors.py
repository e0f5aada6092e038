"""The one error type. Every error leaves the server as JSON ``{"message": ...}``."""

from __future__ import annotations

from typing import Any


class AppError(Exception):
    """An error with an HTTP status and a message safe to show to the client.

    ``status`` mirrors Grafana's extra ``status`` field (``version-mismatch``, ``name-exists``...).
    """

    def __init__(self, status_code: int, message: str, status: str | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message
        self.status = status
        self.extra = extra

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"message": self.message}
        if self.status:
            out["status"] = self.status
        out.update(self.extra)
        return out

    @classmethod
    def bad_request(cls, message: str) -> AppError:
        return cls(400, message)

    @classmethod
    def unauthorized(cls, message: str = "Unauthorized") -> AppError:
        return cls(401, message)

    @classmethod
    def forbidden(cls, message: str = "Access denied") -> AppError:
        return cls(403, message)

    @classmethod
    def not_found(cls, message: str = "Not found") -> AppError:
        return cls(404, message)

    @classmethod
    def conflict(cls, message: str) -> AppError:
        return cls(409, message)

    @classmethod
    def unavailable(cls, message: str) -> AppError:
        return cls(503, message)


class ConfigError(Exception):
    """Invalid or missing configuration: stops startup with a message naming section and key."""
