"""One BLAS thread inside every core call, whatever the environment, restored afterwards.

The core's matrix products are small (a tumour's box, a stack of cubes): BLAS threads only cost
there, and in a data loader whose workers each start a full pool they oversubscribe the machine
(issue 9: ``medium`` took 433 ms with the default environment against 113 ms with one thread on
2 cores). :func:`single_blas_thread` sets every loaded BLAS library to one thread for the
duration of a call and restores each library's own setting when the outermost call returns.

Cost: enumerating the loaded libraries (``threadpoolctl.threadpool_limits``) takes about a
millisecond, so it is done once per process and the ``ThreadpoolController`` kept; entering a
call then costs tens of microseconds, and a nested call (``synthesize`` calling ``sample``)
only counts its depth. BLAS libraries loaded after the first call (a later ``import torch``)
are not controlled; the core only uses NumPy's and SciPy's, which are loaded by then.

Not public API.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from threadpoolctl import ThreadpoolController

__all__ = ["single_blas_thread"]

P = ParamSpec("P")
R = TypeVar("R")

_lock = threading.Lock()
_depth = 0
_limiter: Any = None
_controller: ThreadpoolController | None = None


def _enter() -> None:
    global _depth, _limiter, _controller
    with _lock:
        if _depth == 0:
            if _controller is None:
                _controller = ThreadpoolController()
            limiter = _controller.limit(limits=1, user_api="blas")
            limiter.__enter__()
            _limiter = limiter
        _depth += 1


def _exit() -> None:
    global _depth, _limiter
    with _lock:
        _depth -= 1
        if _depth == 0 and _limiter is not None:
            limiter, _limiter = _limiter, None
            limiter.__exit__(None, None, None)


def _after_fork_in_child() -> None:
    # A fork taken while another thread was inside a call: that thread does not exist in the
    # child, so its exit never comes. Give the child a fresh lock and its caller's settings.
    global _lock, _depth, _limiter
    _lock = threading.Lock()
    if _limiter is not None:
        _limiter.__exit__(None, None, None)
    _depth, _limiter = 0, None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def single_blas_thread(function: Callable[P, R]) -> Callable[P, R]:
    """Run `function` with one BLAS thread; the caller's thread settings come back afterwards.

    Calls may nest and may come from several Python threads at once: the limit is set when the
    first enters and the original settings restored when the last leaves.

    Examples
    --------
    >>> from threadpoolctl import threadpool_info
    >>> @single_blas_thread
    ... def threads():
    ...     return {info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"}
    >>> threads()
    {1}
    """

    @functools.wraps(function)
    def limited(*args: P.args, **kwargs: P.kwargs) -> R:
        _enter()
        try:
            return function(*args, **kwargs)
        finally:
            _exit()

    return limited
