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
