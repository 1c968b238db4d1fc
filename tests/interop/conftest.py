"""Real GIS clients (QGIS from Debian, GDAL's tools) against a live tumen."""

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from tests.overlays.conftest import KEY
from tumen.settings import Settings

HERE = Path(__file__).resolve().parent
SYSTEM_PYTHON = "/usr/bin/python3"  # PyQGIS lives only in Debian's interpreter


TRIXIE = Path(os.environ.get("TUMEN_TRIXIE_QGIS", "/var/lib/tumen/trixie-qgis"))


def _xdg(root: Path) -> dict[str, str]:
    (root / "xdg-runtime").mkdir(mode=0o700, parents=True, exist_ok=True)
    return {
        "QT_QPA_PLATFORM": "offscreen",
        "HOME": str(root),
        "XDG_CACHE_HOME": str(root / "xdg-cache"),
        "XDG_CONFIG_HOME": str(root / "xdg-config"),
        "XDG_DATA_HOME": str(root / "xdg-data"),
        "XDG_RUNTIME_DIR": str(root / "xdg-runtime"),
    }


def run_qgis(
    args: dict[str, Any],
    tmp: Path,
    *,
    ltr: bool = False,
    timeout: int = 180,
    script: str = "qgis_render.py",
) -> dict[str, Any]:
    """Run one QGIS check in its own process with fresh caches; a crash (e.g. 139) fails the test.

    ``ltr=True`` runs QGIS 3.40 from the Debian trixie chroot (tests/interop/setup_trixie_qgis.sh);
    its files go through a folder inside the chroot, mapped back to host paths in the result.
    """
    if not ltr:
        cmd = [SYSTEM_PYTHON, str(HERE / script), json.dumps(args)]
        proc = subprocess.run(
            cmd,
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, **_xdg(tmp)},
            check=False,
        )
    else:
        inside = Path("/tmp/tumen-interop") / tmp.name
        host = TRIXIE / inside.relative_to("/")
        host.mkdir(parents=True, exist_ok=True)
        shutil.copy(HERE / script, host / script)
        if not os.path.ismount(TRIXIE / "proc"):
            subprocess.run(["mount", "-t", "proc", "proc", str(TRIXIE / "proc")], check=True)
        args = {**args, "out": str(inside / Path(args.get("out", "out.png")).name)}
        env = [f"{k}={v.replace(str(host), str(inside))}" for k, v in _xdg(host).items()]
        cmd = [
            "chroot",
            str(TRIXIE),
            "/usr/bin/env",
            *env,
            "/usr/bin/python3",
            str(inside / script),
            json.dumps(args),
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    assert proc.returncode == 0, f"QGIS exited {proc.returncode}: {proc.stderr[-2000:]}"
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    if ltr and "png" in result:
        result["png"] = str(host / Path(result["png"]).name)
    return result


@pytest.fixture
def keyed(settings: Settings) -> Settings:
    """Settings with the tests' API key, so QGIS can write."""
    return settings.model_copy(update={"api_key": SecretStr(KEY)})


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
