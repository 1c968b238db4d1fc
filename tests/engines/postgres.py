"""A throw-away PostgreSQL 15 cluster with PostGIS, from Debian's packages, for the tests.

``start(workdir)`` makes a cluster in a new temporary directory (initdb), starts it on a free
loopback port with its socket beside it, and answers a ``PostgresServer``; ``stop()`` stops it and
removes every file. As root (CI), initdb and the server run as the ``postgres`` user (PostgreSQL
refuses root), with the cluster directory given to that user. Durability is traded for speed
(fsync off): nothing here outlives the test session.
"""

import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

PG_ROOT = Path("/usr/lib/postgresql")
SUPERUSER = "postgres"


def pg_bin(version: str | None = None) -> Path:
    """The bin directory of Debian's PostgreSQL (the newest installed, or ``version``)."""
    versions = sorted(
        (p for p in PG_ROOT.glob("*") if (p / "bin" / "initdb").exists()),
        key=lambda p: int(p.name) if p.name.isdigit() else 0,
    )
    if version is not None:
        versions = [p for p in versions if p.name == version]
    if not versions:
        raise FileNotFoundError(
            f"no PostgreSQL server under {PG_ROOT}: install postgresql-15 and postgresql-15-postgis-3"
        )
    return versions[-1] / "bin"


def has_postgis(bin_dir: Path) -> bool:
    """Whether the PostGIS extension is installed for that PostgreSQL."""
    version = bin_dir.parent.name
    return Path(f"/usr/share/postgresql/{version}/extension/postgis.control").exists()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PostgresServer:
    """A running throw-away cluster: superuser ``postgres``, trust authentication on loopback only."""

    root: Path
    bin_dir: Path
    port: int
    as_postgres: bool

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        return self.root / "run"

    def url(self, database: str = "postgres") -> str:
        """A libpq URL of one database of this cluster, over TCP on 127.0.0.1."""
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = [str(a) for a in args]
        if self.as_postgres:
            command = ["runuser", "-u", SUPERUSER, "--", *command]
        return subprocess.run(command, check=check, capture_output=True, text=True, cwd="/")

    def stop(self) -> None:
        """Stop the server at once and remove the cluster's files."""
        if (self.data / "postmaster.pid").exists():
            self._run(
                str(self.bin_dir / "pg_ctl"),
                "-D",
                str(self.data),
                "-m",
                "immediate",
                "-w",
                "stop",
                check=False,
            )
        shutil.rmtree(self.root, ignore_errors=True)


def start(parent: Path | None = None, *, max_connections: int = 300) -> PostgresServer:
    """initdb + start a new cluster in a fresh directory under ``parent`` (default: the temp dir)."""
    bin_dir = pg_bin()
    root = Path(tempfile.mkdtemp(prefix="tumen-pg-", dir=parent))
    # The postgres user must reach its directory: the path to it is traversable, the cluster its own.
    root.chmod(0o755)
    as_postgres = os.geteuid() == 0
    server = PostgresServer(root, bin_dir, _free_port(), as_postgres)
    server.socket_dir.mkdir()
    if as_postgres:
        shutil.chown(server.socket_dir, SUPERUSER, SUPERUSER)
        shutil.chown(root, SUPERUSER, SUPERUSER)
    try:
        server._run(
            str(bin_dir / "initdb"),
            "-D",
            str(server.data),
            "-U",
            SUPERUSER,
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
            "--no-instructions",
        )
        options = " ".join(
            [
                f"-p {server.port}",
                "-c listen_addresses=127.0.0.1",
                f"-c unix_socket_directories={server.socket_dir}",
                f"-c max_connections={max_connections}",
                "-c fsync=off",
                "-c synchronous_commit=off",
                "-c full_page_writes=off",
                "-c shared_buffers=64MB",
            ]
        )
        server._run(
            str(bin_dir / "pg_ctl"),
            "-D",
            str(server.data),
            "-o",
            options,
            "-l",
            str(server.root / "server.log"),
            "-w",
            "-t",
            "60",
            "start",
        )
    except subprocess.CalledProcessError as err:
        log = server.root / "server.log"
        detail = log.read_text()[-2000:] if log.exists() else ""
        server.stop()
        raise RuntimeError(f"PostgreSQL did not start: {err.stderr or err.stdout}{detail}") from err
    _wait_ready(server)
    return server


def _wait_ready(server: PostgresServer, timeout: float = 30) -> None:
    import psycopg

    deadline = time.monotonic() + timeout
    while True:
        try:
            psycopg.connect(server.url(), connect_timeout=2).close()
            return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def create_database(server: PostgresServer, name: str, template: str | None = None) -> str:
    """A new database (a copy of ``template`` when given, file by file: fast for small ones)."""
    import psycopg
    from psycopg import sql

    statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    if template is not None:
        statement = sql.SQL("{} TEMPLATE {} STRATEGY FILE_COPY").format(
            statement, sql.Identifier(template)
        )
    with psycopg.connect(server.url(), autocommit=True) as conn:
        conn.execute(statement)
    return server.url(name)


def drop_database(server: PostgresServer, name: str) -> None:
    """Drop a database, ending whatever connections still use it."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(server.url(), autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
