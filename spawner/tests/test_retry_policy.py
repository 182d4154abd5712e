"""retry.py: which errors are retried, how long we wait, when we give up."""

import asyncio
import email.utils
import time

import aiohttp
import pytest
from kubernetes_asyncio.client.exceptions import ApiException

from kubespawner.retry import (
    backoff_delay,
    call_with_retries,
    is_retryable,
    retry_after_seconds,
)


def api_error(status, retry_after=None):
    error = ApiException(status=status, reason="x")
    if retry_after is not None:
        error.headers = {"Retry-After": retry_after}
    return error


class Flaky:
    """An async call that fails with the given errors, then returns 'ok'."""

    def __init__(self, *errors):
        self.errors = list(errors)
        self.calls = 0

    async def __call__(self):
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_server_side_statuses_are_retryable(status):
    assert is_retryable(api_error(status))


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 410, 422])
def test_answers_are_not_retryable(status):
    assert not is_retryable(api_error(status))


def test_timeouts_and_dropped_connections_are_retryable():
    assert is_retryable(TimeoutError())
    assert is_retryable(aiohttp.ServerDisconnectedError())
    assert not is_retryable(ValueError("bug"))


def test_retry_after_seconds_and_http_date():
    assert retry_after_seconds(api_error(429, "2")) == 2.0
    when = email.utils.formatdate(time.time() + 5, usegmt=True)
    assert 3 <= retry_after_seconds(api_error(429, when)) <= 5
    assert retry_after_seconds(api_error(429, "3600")) == 30.0  # capped
    assert retry_after_seconds(api_error(429)) is None
    assert retry_after_seconds(api_error(429, "soon")) is None


def test_backoff_grows_with_jitter_and_is_capped():
    firsts = {backoff_delay(0) for _ in range(50)}
    assert len(firsts) > 1, "jitter spreads retries"
    assert all(0.025 <= d <= 0.05 for d in firsts)
    assert all(2.5 <= backoff_delay(20) <= 5.0 for _ in range(20))


async def test_retries_until_success():
    call = Flaky(api_error(503), api_error(500), TimeoutError())
    assert await call_with_retries(call, retry_timeout=10, description="x") == "ok"
    assert call.calls == 4


async def test_honours_retry_after():
    call = Flaky(api_error(429, "0.3"))
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert await call_with_retries(call, retry_timeout=10, description="x") == "ok"
    assert loop.time() - started >= 0.3
    assert call.calls == 2


async def test_non_retryable_error_is_raised_at_once():
    call = Flaky(api_error(409))
    with pytest.raises(ApiException) as info:
        await call_with_retries(call, retry_timeout=10, description="x")
    assert info.value.status == 409
    assert call.calls == 1


async def test_gives_up_after_retry_timeout():
    call = Flaky(*[api_error(503) for _ in range(1000)])
    with pytest.raises(ApiException) as info:
        await call_with_retries(call, retry_timeout=0.5, description="create pod")
    assert info.value.status == 503
    assert 2 <= call.calls < 1000


async def test_retry_after_longer_than_the_budget_gives_up_without_waiting():
    call = Flaky(api_error(429, "20"))
    with pytest.raises(ApiException):
        await call_with_retries(call, retry_timeout=1, description="x")
    assert call.calls == 1


async def test_a_timeout_given_up_on_says_what_timed_out():
    # a bare TimeoutError would reach the user as an empty "Spawn failed: "
    call = Flaky(*[TimeoutError() for _ in range(1000)])
    with pytest.raises(TimeoutError) as info:
        await call_with_retries(call, retry_timeout=0.3, description="create PVC claim-x")
    assert "create PVC claim-x" in str(info.value)
    assert "request timed out" in str(info.value)
