"""A write budget per API key: a token bucket, so a runaway script cannot flood the history.

The bucket holds ``per_minute`` writes and refills at ``per_minute / 60`` per second. It lives in
each worker's memory: with N workers a key may write up to N times the rate (nginx's limit_req is
the place for one limit across instances).
"""

import hashlib
import math
import threading
import time
from collections.abc import Callable

from overlays.errors import TooManyWrites


class WriteBudget:
    """Token buckets keyed by a digest of the API key (the key itself is never kept)."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity = float(per_minute)
        self.refill = per_minute / 60.0
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def spend(self, key: str) -> None:
        """Take one write from ``key``'s bucket, or raise TooManyWrites with the wait in seconds."""
        if self.capacity <= 0:
            return  # 0 turns the limit off
        digest = hashlib.sha256(key.encode()).hexdigest()
        with self._lock:
            now = self.clock()
            tokens, then = self._buckets.get(digest, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - then) * self.refill)
            if tokens < 1.0:
                self._buckets[digest] = (tokens, now)
                raise TooManyWrites(math.ceil((1.0 - tokens) / self.refill))
            self._buckets[digest] = (tokens - 1.0, now)
