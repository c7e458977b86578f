"""Prometheus metrics, kept in memory per process and rendered in the text format by hand.

Labels are only route templates, methods from a fixed set, status codes and event names the
code chooses: never an id, path, address or anything else a client sent. With several worker
processes each process reports its own counts (Prometheus sums them per instance label when
scraped through a per-worker port, or reads one worker's view through a shared port).
"""

from __future__ import annotations

import bisect
import itertools
import threading
from collections import defaultdict

#: Request latency buckets in seconds.
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(value: float) -> str:
    return repr(float(value)) if isinstance(value, float) else str(value)


class Metrics:
    """Request counters, a latency histogram per route, and domain event counters.

    A request's duration is counted once, in the one bucket it falls into (found by bisection);
    :meth:`render` sums them into Prometheus's cumulative ``le`` buckets. Observing is on every
    request's path, rendering only on a scrape."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: dict[tuple[str, str, int], int] = defaultdict(int)
        self._buckets: dict[str, list[int]] = {}
        self._sums: dict[str, float] = defaultdict(float)
        self._events: dict[str, int] = defaultdict(int)

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        with self._lock:
            self._requests[(route, method, status)] += 1
            counts = self._buckets.get(route)
            if counts is None:
                counts = self._buckets[route] = [0] * (len(BUCKETS) + 1)
            # The first bound >= seconds (the last slot is +Inf only): le is inclusive.
            counts[bisect.bisect_left(BUCKETS, seconds)] += 1
            self._sums[route] += seconds

    def event(self, name: str, count: int = 1) -> None:
        with self._lock:
            self._events[name] += count

    def render(self) -> str:
        with self._lock:
            lines = [
                "# HELP ots_http_requests_total HTTP requests by route template, method, status.",
                "# TYPE ots_http_requests_total counter",
            ]
            for (route, method, status), count in sorted(self._requests.items()):
                lines.append(
                    f'ots_http_requests_total{{route="{_label(route)}",method="{method}",'
                    f'status="{status}"}} {count}'
                )
            lines += [
                "# HELP ots_http_request_duration_seconds Request latency by route template.",
                "# TYPE ots_http_request_duration_seconds histogram",
            ]
            for route, counts in sorted(self._buckets.items()):
                label = _label(route)
                cumulative = list(itertools.accumulate(counts))
                for bound, count in zip((*map(str, BUCKETS), "+Inf"), cumulative, strict=True):
                    lines.append(
                        f'ots_http_request_duration_seconds_bucket{{route="{label}",'
                        f'le="{bound}"}} {count}'
                    )
                lines.append(
                    f'ots_http_request_duration_seconds_sum{{route="{label}"}} '
                    f"{_number(self._sums[route])}"
                )
                lines.append(
                    f'ots_http_request_duration_seconds_count{{route="{label}"}} {cumulative[-1]}'
                )
            lines += [
                "# HELP ots_events_total Secret lifecycle events.",
                "# TYPE ots_events_total counter",
            ]
            for name, count in sorted(self._events.items()):
                lines.append(f'ots_events_total{{event="{_label(name)}"}} {count}')
        return "\n".join(lines) + "\n"
