"""Fixtures shared by the whole test suite.

``shared_data``: the folder of real CT scans (``abdomen-3mm/``, ``portal-venous-slab/``), taken
from the environment variable ``SYNTHTUMOR_DATA`` or else ``../shared/data`` beside the
repository. A missing folder fails the test that asks for it (it is never skipped).

``phantom``: the default procedural phantom, ``make_phantom(rng=0)``, built once per session.
Treat it as read-only.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from synthtumor.phantom import Phantom, make_phantom

DATA_ENV_VAR = "SYNTHTUMOR_DATA"
DEFAULT_DATA_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real-data folder; fails loudly (no skip) when it is missing."""
    configured = os.environ.get(DATA_ENV_VAR)
    folder = Path(configured) if configured else DEFAULT_DATA_DIR
    if not folder.is_dir():
        source = (
            f"${DATA_ENV_VAR}={configured}"
            if configured
            else f"the default (${DATA_ENV_VAR} unset)"
        )
        pytest.fail(
            f"real CT data folder not found: looked in {folder}, from {source}; point "
            f"{DATA_ENV_VAR} at the folder holding abdomen-3mm/ and portal-venous-slab/",
            pytrace=False,
        )
    return folder


@pytest.fixture(scope="session")
def phantom() -> Phantom:
    """``make_phantom(rng=0)``: 160 x 160 x 96 voxels of 1.5 x 1.5 x 2 mm, float32 HU."""
    return make_phantom(rng=0)


@pytest.fixture(scope="session", autouse=True)
def no_stray_temporary_folders(tmp_path_factory) -> None:
    """Keep what torch and multiprocessing write for themselves out of the temporary directory.

    torch's compiler caches (``torchinductor_<user>``, made when anything imports
    ``torch._dynamo``) go under pytest's own folder, which pytest removes. multiprocessing's
    folder is made here, in the main process: a forked worker (a DataLoader's) that shares a
    tensor with its parent otherwise makes its own ``pymp-*`` folder and exits without removing
    it; this way the workers inherit the parent's, removed when the session ends.
    """
    import multiprocessing.util

    os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", str(tmp_path_factory.mktemp("torch_cache")))
    multiprocessing.util.get_temp_dir()
