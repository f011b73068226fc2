"""Per-user token bucket: a burst of N, refilled at N per minute, per user; off at 0."""

import pytest

from shared.errors import ApiError
from shared.ratelimit import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def allowed(limiter, user, n):
    results = []
    for _ in range(n):
        try:
            limiter.check(user)
            results.append(True)
        except ApiError as error:
            assert error.status == 429 and error.code == "rate_limited" and error.retry_after_s >= 1
            results.append(False)
    return results


def test_off_by_default_lets_everything_through():
    assert allowed(RateLimiter(0), "u", 1000) == [True] * 1000


@pytest.mark.parametrize("per_minute", [1, 5, 60])
def test_a_burst_of_the_limit_then_429(per_minute):
    limiter = RateLimiter(per_minute, clock=Clock())
    assert allowed(limiter, "u", per_minute + 3) == [True] * per_minute + [False] * 3


@pytest.mark.parametrize(
    "wait_s, more_allowed",
    [(0.5, 0), (1.0, 1), (5.0, 5), (3600.0, 60)],  # refills at 1/s for 60 per minute, capped at 60
)
def test_tokens_come_back_at_the_configured_rate(wait_s, more_allowed):
    clock = Clock()
    limiter = RateLimiter(60, clock=clock)
    allowed(limiter, "u", 60)
    clock.now += wait_s
    assert sum(allowed(limiter, "u", 100)) == more_allowed


def test_users_have_separate_buckets():
    limiter = RateLimiter(2, clock=Clock())
    assert allowed(limiter, "a", 3) == [True, True, False]
    assert allowed(limiter, "b", 2) == [True, True]


def test_retry_after_says_when_a_token_is_back():
    clock = Clock()
    limiter = RateLimiter(6, clock=clock)  # one token every 10 s
    allowed(limiter, "u", 6)
    with pytest.raises(ApiError) as refused:
        limiter.check("u")
    assert refused.value.retry_after_s == 10
