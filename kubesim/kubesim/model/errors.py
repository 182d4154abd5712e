"""API errors as the Kubernetes API server reports them: `Status` objects.

Clients (client-go, kubernetes_asyncio, kubectl) read `code`, `reason`,
`message` and `details`; the helpers below build the exact messages the
real server uses for the common cases so client-side matching works.
"""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An error answer: HTTP `code`, machine `reason`, human `message`."""

    def __init__(
        self,
        code: int,
        reason: str,
        message: str,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details
        self.headers = headers or {}

    def to_status(self) -> dict[str, Any]:
        status: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details is not None:
            status["details"] = self.details
        return status

    def __repr__(self) -> str:
        return f"ApiError({self.code}, {self.reason!r}, {self.message!r})"


def _details(rt, name: str | None, **extra) -> dict[str, Any]:
    details: dict[str, Any] = {"kind": rt.plural}
    if name:
        details["name"] = name
    if rt.group:
        details["group"] = rt.group
    details.update(extra)
    return details


def _qualified(rt) -> str:
    return f"{rt.plural}.{rt.group}" if rt.group else rt.plural


def not_found(rt, name: str) -> ApiError:
    return ApiError(404, "NotFound", f'{_qualified(rt)} "{name}" not found', _details(rt, name))


def already_exists(rt, name: str) -> ApiError:
    return ApiError(
        409, "AlreadyExists", f'{_qualified(rt)} "{name}" already exists', _details(rt, name)
    )


def conflict(rt, name: str, why: str | None = None) -> ApiError:
    why = why or (
        "the object has been modified; please apply your changes to the latest version "
        "and try again"
    )
    return ApiError(
        409,
        "Conflict",
        f'Operation cannot be fulfilled on {_qualified(rt)} "{name}": {why}',
        _details(rt, name),
    )


def invalid(rt, name: str, causes: list[dict[str, str]], kind: str | None = None) -> ApiError:
    """422 Invalid; each cause is {"reason": FieldValue..., "message": ..., "field": ...};
    `kind` (group-qualified) for a body of another kind than rt's (TokenRequest)."""
    summary = ", ".join(f"{c['field']}: {c['message']}" for c in causes)
    if len(causes) > 1:
        summary = f"[{summary}]"
    # errors.NewInvalid names the group-qualified kind: `Deployment.apps "hub" is invalid`
    qualified_kind = kind or (f"{rt.kind}.{rt.group}" if rt.group else rt.kind)
    return ApiError(
        422,
        "Invalid",
        f'{qualified_kind} "{name}" is invalid: {summary}',
        {**_details(rt, name, kind=qualified_kind.split(".")[0]), "causes": causes},
    )


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def forbidden(rt, name: str, why: str) -> ApiError:
    return ApiError(
        403, "Forbidden", f'{_qualified(rt)} "{name}" is forbidden: {why}', _details(rt, name)
    )


def expired(message: str) -> ApiError:
    return ApiError(410, "Expired", message)


def method_not_allowed(
    message: str = "the server does not allow this method on the requested resource",
) -> ApiError:
    return ApiError(405, "MethodNotAllowed", message)
