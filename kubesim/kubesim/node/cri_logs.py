"""Container logs in the CRI file format the kubelet writes and `pods/log` reads.

Each line: "<RFC3339Nano timestamp> <stdout|stderr> <F|P> <content>"; P marks a
partial line (no newline at the end yet).
"""

from __future__ import annotations

import os
from datetime import datetime


def _parse(line: str) -> tuple[str, str, str] | None:
    parts = line.rstrip("\n").split(" ", 3)
    if len(parts) < 3:
        return None
    timestamp, _stream, tag = parts[0], parts[1], parts[2]
    content = parts[3] if len(parts) == 4 else ""
    return timestamp, tag, content


def _seconds(timestamp: str) -> float:
    # "2026-11-25T10:00:00.123456789Z" -> epoch seconds (microsecond precision)
    whole, _, fraction = timestamp.rstrip("Z").partition(".")
    base = datetime.fromisoformat(whole + "+00:00").timestamp()
    return base + float("0." + (fraction or "0")[:6])


def read_cri_log(
    path: str,
    *,
    timestamps: bool = False,
    tail_lines: int | None = None,
    since_seconds: float | None = None,
    since_time: float | None = None,
    limit_bytes: int | None = None,
    now: float | None = None,
) -> str:
    """The log as `kubectl logs` shows it."""
    if not os.path.exists(path):
        return ""
    with open(path, encoding="utf-8", errors="replace") as handle:
        records = [r for r in (_parse(line) for line in handle) if r is not None]
    lines: list[tuple[str, str]] = []  # (timestamp of first chunk, text)
    pending_ts, pending = None, ""
    for timestamp, tag, content in records:
        if pending_ts is None:
            pending_ts = timestamp
        pending += content
        if tag == "F":
            lines.append((pending_ts, pending + "\n"))
            pending_ts, pending = None, ""
    if pending_ts is not None:
        lines.append((pending_ts, pending))
    if since_seconds is not None and now is not None:
        since_time = max(since_time or 0, now - since_seconds)
    if since_time is not None:
        lines = [item for item in lines if _seconds(item[0]) >= since_time]
    if tail_lines is not None:
        lines = lines[-tail_lines:] if tail_lines > 0 else []
    text = "".join(f"{ts} {body}" if timestamps else body for ts, body in lines)
    if limit_bytes is not None:
        text = text.encode()[:limit_bytes].decode("utf-8", errors="ignore")
    return text
