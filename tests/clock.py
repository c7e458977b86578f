"""An injected wall clock for the whole suite: tests move time instead of sleeping.

Invariant: the clock only moves when a test calls ``advance``; it starts at ``start`` or, by
default, at the current whole second.
"""

from __future__ import annotations

import time


class FakeClock:
    def __init__(self, start: float | None = None) -> None:
        self.now = float(int(time.time()) if start is None else start)

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
