"""Per-function call counts, failures by error code, wall seconds (computing; fetching inputs and
uploading the output apart) and calls in flight, rendered in the Prometheus text format (``GET /metrics``).

Every call is counted exactly once: a call that runs (sync or submitted) when it starts, a call
rejected before running (a bad request, an overloaded server) when it is rejected.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from typing import Optional

from .contract import function_names

FUNCTIONS = function_names()


class Metrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls: dict[str, int] = defaultdict(int)
        self.failures: dict[tuple[str, str], int] = defaultdict(int)
        self.seconds: dict[str, float] = defaultdict(float)
        self.upload_seconds: dict[str, float] = defaultdict(float)
        self.fetch_seconds: dict[str, float] = defaultdict(float)
        self.inflight = 0

    def started(self, function: str) -> None:
        """A call of ``function`` begins running."""
        with self._lock:
            self.calls[function] += 1
            self.inflight += 1

    def finished(self, function: str, seconds: float, failure_code: Optional[str] = None, upload_seconds: float = 0.0, fetch_seconds: float = 0.0) -> None:
        """A running call ended after ``seconds`` (wall) of computing, ``fetch_seconds`` (wall) of
        fetching its inputs by URL and ``upload_seconds`` (wall) of uploading its output, failed with
        ``failure_code`` if not None."""
        with self._lock:
            self.inflight -= 1
            self.seconds[function] += seconds
            self.upload_seconds[function] += upload_seconds
            self.fetch_seconds[function] += fetch_seconds
            if failure_code is not None:
                self.failures[(function, failure_code)] += 1

    def rejected(self, function: str, code: str) -> None:
        """A call of ``function`` refused before it ran (counted as a call and a failure)."""
        with self._lock:
            self.calls[function] += 1
            self.failures[(function, code)] += 1

    def render(self) -> str:
        with self._lock:
            lines = [
                "# HELP cmvc_gpu_calls_total GPU function calls, sync and submitted, each counted once.",
                "# TYPE cmvc_gpu_calls_total counter",
                *(f'cmvc_gpu_calls_total{{function="{f}"}} {self.calls[f]}' for f in FUNCTIONS),
                "# HELP cmvc_gpu_failures_total GPU function calls that failed, by contract error code.",
                "# TYPE cmvc_gpu_failures_total counter",
                *(f'cmvc_gpu_failures_total{{function="{f}",code="{c}"}} {n}' for (f, c), n in sorted(self.failures.items())),
                "# HELP cmvc_gpu_seconds_total Wall seconds spent running GPU functions, input fetches and uploads excluded.",
                "# TYPE cmvc_gpu_seconds_total counter",
                *(f'cmvc_gpu_seconds_total{{function="{f}"}} {self.seconds[f]:.6f}' for f in FUNCTIONS),
                "# HELP cmvc_gpu_upload_seconds_total Wall seconds spent uploading output files to their targets.",
                "# TYPE cmvc_gpu_upload_seconds_total counter",
                *(f'cmvc_gpu_upload_seconds_total{{function="{f}"}} {self.upload_seconds[f]:.6f}' for f in FUNCTIONS),
                "# HELP cmvc_gpu_fetch_seconds_total Wall seconds spent fetching inputs (sources, keyframe images, videos) by URL.",
                "# TYPE cmvc_gpu_fetch_seconds_total counter",
                *(f'cmvc_gpu_fetch_seconds_total{{function="{f}"}} {self.fetch_seconds[f]:.6f}' for f in FUNCTIONS),
                "# HELP cmvc_gpu_inflight GPU function calls running now.",
                "# TYPE cmvc_gpu_inflight gauge",
                f"cmvc_gpu_inflight {self.inflight}",
            ]
        return "\n".join(lines) + "\n"
