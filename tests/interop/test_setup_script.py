"""The QGIS 3.40 set-up takes its Debian mirror and proxy from the machine's apt, naming no host."""

import os
import subprocess
from pathlib import Path

SCRIPT = Path(__file__).with_name("setup_trixie_qgis.sh")

POLICY = """Package files:
 100 /var/lib/dpkg/status
 500 http://mirror.internal.test/debian-security {codename}-security/main amd64 Packages
 500 http://mirror.internal.test/debian {codename}-updates/main amd64 Packages
 500 http://mirror.internal.test/debian {codename}/main amd64 Packages
"""


def fake_apt(tmp_path: Path, proxy: str | None) -> dict[str, str]:
    """apt-cache and apt-config stand-ins that answer as a machine behind a local mirror would."""
    codename = ""
    for line in Path("/etc/os-release").read_text().splitlines():
        if line.startswith("VERSION_CODENAME="):
            codename = line.split("=", 1)[1].strip('"')
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "apt-cache").write_text(
        "#!/bin/sh\ncat <<'EOF'\n" + POLICY.format(codename=codename) + "EOF\n"
    )
    shell = f"echo \"http_proxy='{proxy}'\"" if proxy else "true"
    (bin_dir / "apt-config").write_text(f"#!/bin/sh\n{shell}\n")
    for tool in ("apt-cache", "apt-config"):
        (bin_dir / tool).chmod(0o755)
    return {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}


def run(env: dict[str, str]) -> str:
    out = subprocess.run(
        ["bash", str(SCRIPT), "--print-mirror"], env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_mirror_is_the_one_apt_uses(tmp_path: Path) -> None:
    assert run(fake_apt(tmp_path, None)) == "http://mirror.internal.test/debian"


def test_proxy_is_the_one_apt_uses(tmp_path: Path) -> None:
    env = fake_apt(tmp_path, "http://proxy.internal.test:3128/")
    assert run(env) == "http://mirror.internal.test/debian via http://proxy.internal.test:3128/"


def test_script_names_no_host() -> None:
    text = SCRIPT.read_text()
    assert "debian.org" not in text and "http://" not in text
