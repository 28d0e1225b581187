import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SAMPLE = ROOT.parents[1] / "shared" / "samples" / "cup-4s.mp4"


@pytest.fixture(scope="session")
def sample_bytes() -> bytes:
    return SAMPLE.read_bytes()


@pytest.fixture(scope="session")
def store():
    """An HTTP object store that functions upload their outputs to and read their inputs from."""
    from artifact_store import ArtifactStore

    store = ArtifactStore()
    yield store
    store.close()
