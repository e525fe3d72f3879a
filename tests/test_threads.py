"""Core calls run their BLAS work on one thread, and give the caller its settings back."""

from __future__ import annotations

import hashlib
import importlib
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from threadpoolctl import ThreadpoolController, threadpool_info, threadpool_limits

import synthtumor
from _volumes import coarse_phantom
from synthtumor import apply, liver_statistics, sample, synthesize

SRC = Path(__file__).resolve().parents[1] / "src"
# The module, not the function of the same name that the package exports.
core = importlib.import_module("synthtumor.synthesize")


def _blas_threads() -> set[int]:
    return {info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"}


@pytest.fixture
def two_blas_threads():
    """The caller's own setting: two BLAS threads (whatever the environment said)."""
    with threadpool_limits(limits=2, user_api="blas"):
        assert _blas_threads() == {2}
        yield


def _probe(monkeypatch, module, name: str) -> list[set[int]]:
    """Record the BLAS thread counts each time ``module.name`` is called inside the core."""
    seen: list[set[int]] = []
    original = getattr(module, name)

    def probe(*args, **kwargs):
        seen.append(_blas_threads())
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, probe)
    return seen


@pytest.mark.usefixtures("two_blas_threads")
def test_every_entry_point_runs_on_one_blas_thread_and_restores_the_callers(monkeypatch):
    phantom = coarse_phantom()
    args = (phantom.image, phantom.liver_mask)
    rendering = _probe(monkeypatch, core, "render_tumor")
    placing = _probe(monkeypatch, core, "choose_centers")
    measuring = _probe(monkeypatch, core, "_estimate_statistics")

    params = sample(*args, spacing=phantom.spacing, size="small", rng=0)
    assert placing == [{1}] and measuring == [{1}]
    assert _blas_threads() == {2}
    apply(*args, params)
    assert rendering and all(seen == {1} for seen in rendering)
    assert _blas_threads() == {2}
    stats = liver_statistics(*args, spacing=phantom.spacing, rng=0)
    assert measuring[-1] == {1} and _blas_threads() == {2}
    rendering.clear()
    synthesize(*args, spacing=phantom.spacing, size="small", statistics=stats, rng=0)
    assert rendering and all(seen == {1} for seen in rendering)
    assert _blas_threads() == {2}


@pytest.mark.usefixtures("two_blas_threads")
def test_the_callers_setting_comes_back_after_an_error():
    phantom = coarse_phantom()
    with pytest.raises(ValueError, match="size"):
        synthesize(phantom.image, phantom.liver_mask, spacing=phantom.spacing, size="huge")
    assert _blas_threads() == {2}


def test_nested_calls_set_the_limit_once(monkeypatch):
    """synthesize -> (sample, apply) and a wrapped caller of synthesize: one limit per call."""
    limits = []
    original = ThreadpoolController.limit

    def counting(self, **kwargs):
        limits.append(kwargs)
        return original(self, **kwargs)

    monkeypatch.setattr(ThreadpoolController, "limit", counting)
    phantom = coarse_phantom()
    synthesize(phantom.image, phantom.liver_mask, spacing=phantom.spacing, size="tiny", rng=0)
    assert limits == [{"limits": 1, "user_api": "blas"}]

    @synthtumor._threads.single_blas_thread
    def outer():
        params = sample(phantom.image, phantom.liver_mask, spacing=phantom.spacing, rng=1)
        return apply(phantom.image, phantom.liver_mask, params)

    outer()
    assert len(limits) == 2


@pytest.mark.usefixtures("two_blas_threads")
def test_concurrent_calls_from_threads_restore_the_callers_setting():
    phantom = coarse_phantom()
    errors = []

    def work(seed):
        try:
            for offset in range(3):
                synthesize(
                    phantom.image,
                    phantom.liver_mask,
                    spacing=phantom.spacing,
                    size="tiny",
                    rng=seed + offset,
                )
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(10 * n,)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert _blas_threads() == {2}


_HASH_SCRIPT = """
import hashlib
from synthtumor import synthesize
from synthtumor.phantom import make_phantom
phantom = make_phantom((128, 128, 96), (1.0, 1.0, 1.0), rng=0)
digest = hashlib.sha256()
for size in ("tiny", "small", "medium", "large", "mix"):
    image, label, params = synthesize(phantom.image, phantom.liver_mask,
                                      spacing=phantom.spacing, size=size, rng=5)
    digest.update(image.tobytes()); digest.update(label.tobytes())
    digest.update(params.to_json().encode())
print(digest.hexdigest())
"""


def _digest_in_subprocess(threads: str | None) -> str:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
    }
    if threads is not None:
        env.update(OPENBLAS_NUM_THREADS=threads, OMP_NUM_THREADS=threads, MKL_NUM_THREADS=threads)
    env["PYTHONPATH"] = os.pathsep.join([str(SRC), env.get("PYTHONPATH", "")])
    done = subprocess.run(
        [sys.executable, "-c", _HASH_SCRIPT],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    return done.stdout.strip()


def test_output_is_the_same_with_the_default_environment_and_one_thread():
    """Before the limit, a 2-thread BLAS changed the bits of the output (sums in other orders)."""
    default, pinned, four = (_digest_in_subprocess(t) for t in (None, "1", "4"))
    assert len(default) == len(hashlib.sha256().hexdigest())
    assert default == pinned == four
