"""Warnings an API request answers with: `Warning: 299 - "..."` response headers.

Admission adds texts during a request (Pod Security's "would violate ..."); the
HTTP layer sends them, deduplicated and in order, as kube-apiserver's warning
recorder does. Outside an API request (the node side's own writes) they are dropped.
"""

from __future__ import annotations

import contextvars

WARNINGS: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar(
    "api_warnings", default=None
)


def warn(text: str) -> None:
    collected = WARNINGS.get()
    if collected is not None and text not in collected:
        collected.append(text)


def header_value(text: str) -> str:
    """RFC 7234 warn-value with agent "-", quoting as k8s.io/apimachinery net.NewWarningHeader."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'299 - "{escaped}"'
