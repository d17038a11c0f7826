"""The ``Server-Timing`` header of the pages whose speed is measured (the board, the KPI
dashboards): ``bench/`` reads the view's own time from it, without the network."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse


def server_timing(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Add ``Server-Timing: app;dur=<ms>, cpu;dur=<ms>``: the time spent in the view (access
    checks, queries, audit, rendering) and the CPU time of it, which ``bench/board.py`` reads to
    measure the board without the network (and, with ``cpu``, without waiting for a core)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        started, cpu = time.perf_counter(), time.thread_time()
        response = view(request, *args, **kwargs)
        if hasattr(response, "render") and not getattr(response, "is_rendered", True):
            response.render()
        elapsed = (time.perf_counter() - started) * 1000
        used = (time.thread_time() - cpu) * 1000
        response["Server-Timing"] = f'app;dur={elapsed:.1f}, cpu;dur={used:.1f};desc="CPU"'
        return response

    return wrapper
