"""deploy/compose.yaml runs deploy/nginx-multi.conf itself, rewritten to the compose services."""

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.engines.nginx import CONFIG, nginx_binary

DEPLOY = CONFIG.parent


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def test_compose_runs_three_instances_on_the_shared_engines(compose: dict) -> None:
    services = compose["services"]
    instances = sorted(name for name in services if re.fullmatch(r"tumen\d", name))
    assert instances == ["tumen1", "tumen2", "tumen3"]
    for name in [*instances, "setup"]:
        env = services[name]["environment"]
        assert (
            env["TUMEN_DATABASE_URL"].startswith("postgresql://")
            and "@db:5432/" in env["TUMEN_DATABASE_URL"]
        )
        assert env["TUMEN_STORAGE_URL"].startswith("s3://")
        assert env["AWS_ENDPOINT_URL"] == "http://" + env["AWS_S3_ENDPOINT"] == "http://s3:8333"
    bakers = [n for n in instances if services[n]["environment"]["TUMEN_BAKE_ON_SERVE"] == "true"]
    assert bakers == ["tumen1"]  # one instance bakes behind itself
    assert services["setup"]["command"] == ["tumen", "db", "upgrade"]
    assert set(services["nginx"]["depends_on"]) == set(instances)


def test_compose_nginx_gets_the_deployed_config_with_the_services_as_upstreams(
    compose: dict, tmp_path: Path
) -> None:
    script = compose["services"]["nginx"]["command"][-1]
    sed = next(line for line in script.splitlines() if line.startswith("sed "))
    sed = sed.replace("/etc/tumen/nginx-multi.conf", str(CONFIG))
    sed = sed.replace("/etc/nginx/tumen.conf", str(tmp_path / "nginx.conf"))
    subprocess.run(["sh", "-c", sed], check=True)
    text = (tmp_path / "nginx.conf").read_text()
    assert re.findall(r"server (\S+) max_fails", text) == [f"tumen{n}:8000" for n in (1, 2, 3)]
    assert "listen 8080;" in text and "\nuser nginx;" in text and "127.0.0.1" not in text

    # nginx accepts it (the service names as loopback, the worker user as this machine's).
    binary = nginx_binary()
    if binary is None:
        pytest.fail("nginx is missing: `make system` installs Debian's nginx-light")
    local = re.sub(r"tumen(\d):8000", r"127.0.0.1:800\1", text).replace(
        "user nginx;", "user www-data;"
    )
    (tmp_path / "nginx.conf").write_text(local)
    for sub in ("temp", "cache"):
        (tmp_path / sub).mkdir()
    check = subprocess.run(
        [
            binary,
            "-t",
            "-q",
            "-p",
            str(tmp_path),
            "-c",
            str(tmp_path / "nginx.conf"),
            "-e",
            "stderr",
        ],
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stderr
