"""Fixtures of the engine tests: settings on a fresh prefix of the session's SeaweedFS."""

from pathlib import Path
from typing import Any

import pytest

from tests.engines.seaweed import SeaweedServer
from tumen.settings import Settings


def database_of(backend: dict[str, Any]) -> dict[str, Any]:
    """The catalog's database of --backend: SQLite (none given), or PostgreSQL with postgres+s3."""
    return {k: v for k, v in backend.items() if k == "database_url"}


@pytest.fixture
def s3(
    backend: dict[str, Any],
    seaweed: SeaweedServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Settings:
    """Settings whose storage is a fresh prefix of the session's SeaweedFS."""
    url = seaweed.storage_url("s3test")
    monkeypatch.setenv("TUMEN_STORAGE_URL", url)  # for the commands the test runs
    return Settings(data_dir=tmp_path / "data", storage_url=url, **database_of(backend))
