"""Per-user token buckets at ingress (per instance): floods get 429, not a queue.

``RATE_LIMIT_PER_MINUTE=N`` gives each user a bucket of N requests that
refills continuously at N per minute; 0 (the default) means no limit. Each
function instance keeps its own buckets, so the effective limit is N times
the instances: a brake on floods, not a quota.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from typing import Callable

from cachetools import TTLCache

from shared.errors import ApiError


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic, max_users: int = 100_000) -> None:
        self.capacity = float(per_minute)
        self.refill_per_s = per_minute / 60.0
        self._clock = clock
        # A bucket untouched for a minute is full again: forgetting it changes nothing.
        self._buckets: TTLCache = TTLCache(maxsize=max_users, ttl=60.0, timer=clock)
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.capacity > 0

    def check(self, user_id: str) -> None:
        """Take one token for ``user_id``, or raise ``ApiError('rate_limited')``."""
        if not self.enabled:
            return
        with self._lock:
            now = self._clock()
            bucket = self._buckets.get(user_id) or _Bucket(self.capacity, now)
            bucket.tokens = min(self.capacity, bucket.tokens + (now - bucket.updated) * self.refill_per_s)
            bucket.updated = now
            self._buckets[user_id] = bucket
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return
            wait_s = (1.0 - bucket.tokens) / self.refill_per_s
        error = ApiError("rate_limited", f"too many requests from this user; retry in {math.ceil(wait_s)} s")
        error.retry_after_s = math.ceil(wait_s)
        raise error
