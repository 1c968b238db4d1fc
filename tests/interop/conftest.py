"""Real GIS clients (QGIS from Debian, GDAL's tools) against a live tumen."""

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
SYSTEM_PYTHON = "/usr/bin/python3"  # PyQGIS lives only in Debian's interpreter


def run_qgis(args: dict[str, Any], tmp: Path, *, timeout: int = 180) -> dict[str, Any]:
    """Run one QGIS check in its own process with fresh caches; a crash (e.g. 139) fails the test."""
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "XDG_CACHE_HOME": str(tmp / "xdg-cache"),
        "XDG_CONFIG_HOME": str(tmp / "xdg-config"),
        "XDG_DATA_HOME": str(tmp / "xdg-data"),
        "XDG_RUNTIME_DIR": str(tmp / "xdg-runtime"),
    }
    (tmp / "xdg-runtime").mkdir(mode=0o700, exist_ok=True)
    proc = subprocess.run(
        [SYSTEM_PYTHON, str(HERE / "qgis_render.py"), json.dumps(args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, f"QGIS exited {proc.returncode}: {proc.stderr[-2000:]}"
    line = proc.stdout.strip().splitlines()[-1]
    return json.loads(line)  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def qgis_version() -> str:
    out = subprocess.run(
        [SYSTEM_PYTHON, "-c", "from qgis.core import Qgis; print(Qgis.QGIS_VERSION)"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    return out.stdout.strip()
