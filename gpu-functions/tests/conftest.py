import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
# The committed sample clip (see test/fixtures/README.md): nothing outside the repository is read.
SAMPLE = ROOT.parent / "test" / "fixtures" / "cup-4s.mp4"


@pytest.fixture(scope="session")
def sample_bytes() -> bytes:
    return SAMPLE.read_bytes()


@pytest.fixture(scope="session")
def store():
    """An HTTP object store that functions upload their outputs to and read their inputs from."""
    from artifact_store import ArtifactStore

    from cmvc_gpu.media.sources import SOURCE_ORIGINS_ENV

    store = ArtifactStore()
    # The functions fetch inputs only from configured origins, as deployed: this store is one of them.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(SOURCE_ORIGINS_ENV, ",".join(filter(None, [os.environ.get(SOURCE_ORIGINS_ENV), store.base])))
        yield store
    store.close()
