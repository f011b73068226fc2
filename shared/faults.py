"""Fault injection at named points, off unless configured (local stack, tests).

``FAULT_RATE=0.2 FAULT_POINTS=scorer.before_write,scorer.after_write,log_sink.before_insert``
makes ``faults.point(name)`` raise ``InjectedFault`` at those points with that
probability. The function answers 500 and Pub/Sub redelivers: the faults
exercise the retry and idempotency paths that production meets rarely.
``FAULT_MATCH`` narrows faults to events whose payload contains that text
(``FAULT_RATE=1`` with a match makes one message fail forever).
``FAULT_LIMIT`` caps the faults injected per event key (per process): below
the subscription's delivery attempts it makes every fault transient (the
event succeeds by a later attempt); 0 means no cap.
Production never sets these variables; with ``FAULT_RATE`` 0 a point is a no-op.
"""

from __future__ import annotations

import logging
import random
import threading
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

# Every point the code calls, so a typo in FAULT_POINTS is refused at start.
KNOWN_POINTS = frozenset({
    "scorer.owner_check", "scorer.rank", "scorer.before_write", "scorer.after_commit", "scorer.after_write",
    "log_sink.before_insert", "delivery.before_send",
})


class InjectedFault(RuntimeError):
    """A deliberate, transient failure (answered 500, retried by Pub/Sub)."""


@dataclass
class FaultInjector:
    rate: float = 0.0
    points: frozenset[str] = frozenset()
    match: str = ""
    limit: int = 0
    rng: random.Random = field(default_factory=random.Random)

    def __post_init__(self) -> None:
        unknown = sorted(set(self.points) - KNOWN_POINTS)
        if unknown:
            raise ValueError(f"unknown fault point(s) {unknown}; known: {sorted(KNOWN_POINTS)}")
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError(f"FAULT_RATE must be in [0, 1], got {self.rate}")
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {}  # faults injected per key (only while enabled)

    @property
    def enabled(self) -> bool:
        return self.rate > 0 and bool(self.points)

    def point(self, name: str, key: str, payload: str = "") -> None:
        """Raise ``InjectedFault`` at ``name`` with probability ``rate``."""
        if not self.enabled or name not in self.points:
            return
        if self.match and self.match not in payload:
            return
        with self._lock:
            counts = self._counts
            if self.limit and counts.get(key, 0) >= self.limit:
                return
            if self.rng.random() >= self.rate:
                return
            counts[key] = counts.get(key, 0) + 1
        log.warning("injected fault at %s for %s", name, key)
        raise InjectedFault(f"injected fault at {name}")


NO_FAULTS = FaultInjector()


def from_settings(settings) -> FaultInjector:
    injector = FaultInjector(settings.fault_rate, settings.fault_points, settings.fault_match, settings.fault_limit)
    if injector.enabled:
        log.warning("FAULT INJECTION ON: rate %.2f at %s", injector.rate, ", ".join(sorted(injector.points)))
    return injector
