"""Retrying Kubernetes API calls that failed for reasons worth retrying.

The API server answers 429 when it sheds load (often with Retry-After) and
5xx while it or etcd is briefly unhealthy; connections drop and time out
during control-plane upgrades. All of those usually succeed a moment later,
so every spawner call goes through `call_with_retries`, which retries them
with exponential backoff and full jitter (so a hundred spawns that failed
together do not retry together) until `retry_timeout` seconds have passed.
Anything else (403, 404, 409, 422, ...) is an answer, not a hiccup, and is
raised at once for the caller to handle.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import aiohttp
from kubernetes_asyncio.client.exceptions import ApiException

T = TypeVar("T")

RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})

# Backoff shape: the first retry comes quickly (a single dropped request
# should cost little latency), later ones spread out up to MAX_DELAY.
FIRST_DELAY = 0.05
MAX_DELAY = 5.0
# Never wait longer than this for a Retry-After, whatever the server says.
MAX_RETRY_AFTER = 30.0

log = logging.getLogger(__name__)


def is_retryable(error: BaseException) -> bool:
    """True for errors that say 'try again later' rather than 'no'."""
    if isinstance(error, ApiException):
        return error.status in RETRYABLE_STATUSES
    # asyncio.TimeoutError is TimeoutError on py3.11+; aiohttp raises
    # ServerTimeoutError (a TimeoutError) and connection errors.
    return isinstance(
        error, TimeoutError | aiohttp.ClientConnectionError | aiohttp.ClientPayloadError
    )


def retry_after_seconds(error: BaseException) -> float | None:
    """The server's Retry-After (seconds or an HTTP date), if it sent one."""
    headers = getattr(error, "headers", None)
    if not headers:
        return None
    value = headers.get("Retry-After")
    if value is None:
        return None
    value = str(value).strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - time.time()
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def backoff_delay(attempt: int, first: float = FIRST_DELAY, cap: float = MAX_DELAY) -> float:
    """Exponential backoff with full jitter for the given 0-based attempt."""
    ceiling = min(cap, first * (2**attempt))
    return random.uniform(ceiling / 2, ceiling)


async def call_with_retries(
    call: Callable[[], Awaitable[T]],
    *,
    retry_timeout: float,
    description: str,
    logger: logging.Logger | logging.LoggerAdapter | None = None,
) -> T:
    """Await `call()` until it succeeds, retrying retryable errors.

    Gives up (re-raising the last error) when the next wait would end after
    `retry_timeout` seconds from the first attempt.
    """
    logger = logger or log
    loop = asyncio.get_running_loop()
    deadline = loop.time() + retry_timeout
    attempt = 0
    while True:
        try:
            return await call()
        except Exception as error:
            if not is_retryable(error):
                raise
            delay = retry_after_seconds(error)
            if delay is None:
                delay = backoff_delay(attempt)
            if loop.time() + delay > deadline:
                elapsed = retry_timeout - (deadline - loop.time())
                summary = (
                    f"Giving up on {description} after {attempt + 1} attempts in "
                    f"{elapsed:.1f}s: {describe_error(error)}"
                )
                logger.error("%s", summary)
                if isinstance(error, TimeoutError) and not str(error):
                    # a bare TimeoutError would reach the user as "Spawn failed: "
                    raise TimeoutError(summary) from error
                raise
            logger.warning(
                "%s failed (%s); retrying in %.2fs", description, describe_error(error), delay
            )
            attempt += 1
            await asyncio.sleep(delay)


def describe_error(error: BaseException) -> str:
    """A one-line description of an API error for logs and messages."""
    if isinstance(error, ApiException):
        reason = error.reason or ""
        return f"HTTP {error.status} {reason}".strip()
    if isinstance(error, TimeoutError):
        return "request timed out"
    return f"{type(error).__name__}: {error}"


def api_message(error: BaseException) -> str:
    """The API server's own message in an error's Status body (what it says
    about a refused request), else the one-line description."""
    if isinstance(error, ApiException) and error.body:
        try:
            message = json.loads(error.body).get("message")
        except (ValueError, AttributeError):
            message = None
        if message:
            return f"HTTP {error.status}: {message}"
    return describe_error(error)
