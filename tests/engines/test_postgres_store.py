"""PostgreSQL for real: what only a shared database does (pool, lost connections, races, freshness).

Everything the SQLite store does, the PostgreSQL store does too: `pytest --backend=postgres` runs
tests/overlays and the rest against it. Here: a pool with no free connection answers 503 at once, an
idle connection the server dropped is replaced before a request uses it, one dropped mid-request is
a 503 with Retry-After, `tumen db upgrade` twice changes nothing, 20 racing PATCHes with one If-Match
on two instances make exactly one version, and a catalog change made elsewhere reaches an instance
within the stated bound.
"""

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from pydantic import SecretStr
from typer.testing import CliRunner

from tests.conftest import LiveServer
from tests.engines.postgres import PostgresServer, create_database
from tiles.catalog_db import BOUND_S, POLL_S
from tumen.cli import app as cli
from tumen.db import upgrade
from tumen.settings import Settings

KEY = "pg-test-key"
AUTH = {"X-API-Key": KEY}
ITEMS = "/api/collections/observations/items"
runner = CliRunner()


def reported(count: int = 3) -> dict[str, Any]:
    """A reported sighting at the bridge (no scene needed)."""
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [130.6425, 42.4165]},
        "properties": {
            "site": "bridge",
            "observed_at": "2022-11-04T13:10:00+09:00",
            "kind": "wagon",
            "count": count,
            "method": "reported",
            "sources": [{"outlet": "38 North"}],
        },
    }


def on_pg(tmp_path: Path, url: str, name: str = "a", **fields: Any) -> Settings:
    return Settings(data_dir=tmp_path / name, database_url=url, api_key=SecretStr(KEY), **fields)


def sql(url: str, statement: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with psycopg.connect(url, autocommit=True) as conn:
        cur = conn.execute(statement, params)  # type: ignore[arg-type]
        return cur.fetchall() if cur.description else []


@pytest.fixture
def two(tmp_path: Path, postgres_url: str) -> Iterator[tuple[LiveServer, LiveServer]]:
    """Two tumen instances (each its own app, pool and listener) on one database."""
    with (
        LiveServer(on_pg(tmp_path, postgres_url, "a")) as a,
        LiveServer(on_pg(tmp_path, postgres_url, "b")) as b,
    ):
        yield a, b


@contextmanager
def a_request_waiting_on_a_lock(server: LiveServer, url: str) -> Iterator[list[httpx.Response]]:
    """An items request held inside the database: another client locks the sightings table.

    Yields once the request waits on the lock, with the list its answer goes into; on leaving, the
    lock goes and the request is waited for.
    """
    with psycopg.connect(url) as blocker:
        blocker.execute("LOCK TABLE observations IN ACCESS EXCLUSIVE MODE")
        answers: list[httpx.Response] = []
        waiting = threading.Thread(
            target=lambda: answers.append(httpx.get(server.url + ITEMS, timeout=30))
        )
        waiting.start()
        _seen_within(lambda: waits_on_a_lock(url), 20)
        try:
            yield answers
        finally:
            blocker.rollback()
    waiting.join(timeout=30)


def test_a_pool_without_a_free_connection_answers_503_at_once(
    tmp_path: Path, postgres_url: str
) -> None:
    settings = on_pg(tmp_path, postgres_url, db_pool_size=1, db_pool_timeout_s=0.3)
    with LiveServer(settings) as server:
        assert httpx.get(server.url + ITEMS).status_code == 200  # sites read and kept
        # Another client holds the sightings table: the one pooled connection waits on it.
        with a_request_waiting_on_a_lock(server, postgres_url) as held:
            started = time.monotonic()
            r = httpx.get(server.url + ITEMS, timeout=30)
            took = time.monotonic() - started
    assert r.status_code == 503, r.text
    assert r.headers["retry-after"] == "1"
    assert "no free database connection" in r.json()["detail"]
    assert took < 1.5, f"503 after {took:.2f} s: the pool timeout is 0.3 s"
    print(f"\nno free connection: 503 after {took * 1000:.0f} ms (pool timeout 300 ms)")
    assert [h.status_code for h in held] == [200]


def test_a_dropped_connection_is_replaced_before_a_request_uses_it(
    tmp_path: Path, postgres_url: str
) -> None:
    with LiveServer(on_pg(tmp_path, postgres_url)) as server:
        created = httpx.post(server.url + ITEMS, json=reported(), headers=AUTH)
        assert created.status_code == 201
        for path in (ITEMS, "/scenes"):  # the store, then the catalog
            assert httpx.get(server.url + path).status_code == 200
            killed = sql(
                postgres_url,
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()",
            )
            assert killed, "the instance holds connections"
            again = httpx.get(server.url + path)
            assert again.status_code == 200, again.text
        assert httpx.get(f"{server.url}{ITEMS}/{created.json()['id']}").status_code == 200


def test_a_connection_lost_during_a_request_is_503_with_retry_after(
    tmp_path: Path, postgres_url: str
) -> None:
    with LiveServer(on_pg(tmp_path, postgres_url)) as server:
        assert httpx.get(server.url + ITEMS).status_code == 200
        with a_request_waiting_on_a_lock(server, postgres_url) as answers:
            # The server drops the connection the request is using, mid-query.
            killed = sql(
                postgres_url,
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'",
            )
            assert killed
        [lost] = answers
        assert lost.status_code == 503, lost.text
        assert lost.headers["retry-after"] == "1"
        assert lost.json() == {
            "detail": "the sightings cannot be read or written right now "
            "(the database cannot be reached); retry"
        }
        assert httpx.get(server.url + ITEMS).status_code == 200


def test_db_upgrade_twice_changes_nothing(postgres: PostgresServer) -> None:
    url = create_database(postgres, "upgrade_twice")
    env = {"TUMEN_DATABASE_URL": url}
    status = runner.invoke(cli, ["db", "status"], env=env)
    assert status.exit_code == 1 and "2 step(s) to apply" in status.output
    first = runner.invoke(cli, ["db", "upgrade"], env=env)
    assert first.exit_code == 0, first.output
    assert "applied 2 step(s): observations 1, catalog 1" in first.output
    steps = sql(url, "SELECT component, version, applied_at FROM schema_version ORDER BY 1")
    tables = sql(url, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
    second = runner.invoke(cli, ["db", "upgrade"], env=env)
    assert second.exit_code == 0 and "up to date" in second.output
    assert upgrade(url) == []
    assert sql(url, "SELECT component, version, applied_at FROM schema_version ORDER BY 1") == steps
    assert sql(url, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") == tables
    assert runner.invoke(cli, ["db", "status"], env=env).exit_code == 0
    indexes = {r[0] for r in sql(url, "SELECT indexdef FROM pg_indexes")}
    assert any("USING gist (geom)" in i for i in indexes)
    assert any("observations USING btree (observed_at)" in i for i in indexes)


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("postgresql://postgres@127.0.0.1:1/tumen", "cannot connect to TUMEN_DATABASE_URL"),
        ("mysql://tumen@127.0.0.1/tumen", "TUMEN_DATABASE_URL: not a PostgreSQL URL"),
        (None, "lacks 2 schema step(s) (observations 1, catalog 1): run 'tumen db upgrade'"),
    ],
)
def test_serve_refuses_a_database_it_cannot_use_in_one_line(
    postgres: PostgresServer, tmp_path: Path, url: str | None, says: str
) -> None:
    url = url or create_database(postgres, "not_migrated")
    r = runner.invoke(
        cli,
        ["serve", "--no-bake"],
        env={"TUMEN_DATABASE_URL": url, "TUMEN_DATA_DIR": str(tmp_path)},
    )
    assert r.exit_code == 2
    lines = [line for line in r.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and says in lines[0], r.output


def test_racing_patches_with_one_if_match_on_two_instances_make_one_version(
    two: tuple[LiveServer, LiveServer],
) -> None:
    a, b = two
    fid = httpx.post(a.url + ITEMS, json=reported(), headers=AUTH).json()["id"]
    gate = threading.Barrier(20)
    answers: dict[int, httpx.Response] = {}

    def patch(n: int) -> None:
        server = (a, b)[n % 2]
        with httpx.Client(timeout=30) as c:
            gate.wait()
            answers[n] = c.patch(
                f"{server.url}{ITEMS}/{fid}",
                json={"properties": {"count": 100 + n}},
                headers={**AUTH, "If-Match": '"1"', "Content-Type": "application/merge-patch+json"},
            )

    threads = [threading.Thread(target=patch, args=(n,)) for n in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    statuses = sorted(r.status_code for r in answers.values())
    assert statuses == [200] + [412] * 19, statuses
    (winner,) = [n for n, r in answers.items() if r.status_code == 200]
    for r in answers.values():
        if r.status_code == 412:
            assert '"2"' in r.json()["detail"]
    for server in (a, b):
        now = httpx.get(f"{server.url}{ITEMS}/{fid}")
        assert now.headers["etag"] == '"2"'
        assert now.json()["properties"]["count"] == 100 + winner
    lines = httpx.get(f"{b.url}{ITEMS}/{fid}/history").json()["changes"]
    assert [(c["action"], c["version"]) for c in lines] == [("create", 1), ("patch", 2)]
    assert lines[1]["before"]["properties"]["count"] == 3
    assert lines[1]["after"]["properties"]["count"] == 100 + winner


def waits_on_a_lock(url: str) -> bool:
    waiting = sql(
        url,
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND wait_event_type = 'Lock'",
    )
    return bool(waiting[0][0])


def site_ids(server: LiveServer) -> list[str]:
    return [s["id"] for s in httpx.get(server.url + "/sites").json()["sites"]]


def _seen_within(check: Any, limit: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < limit:
        if check():
            return time.monotonic() - started
        time.sleep(0.01)
    raise AssertionError(f"not seen within {limit} s")


def test_a_catalog_change_elsewhere_reaches_every_instance_within_the_bound(
    two: tuple[LiveServer, LiveServer], postgres_url: str
) -> None:
    a, b = two
    assert "yard" not in site_ids(b)  # memoised by b
    document = (
        '{"id": "yard", "name": "Test yard", "bbox": [130.60, 42.41, 130.62, 42.42], '
        '"centre": [130.61, 42.415]}'
    )
    # Written by another client (as another instance or a command would): a NOTIFY reaches both.
    sql(postgres_url, "INSERT INTO sites (id, document) VALUES ('yard', %s::json)", (document,))
    took = max(_seen_within(lambda s=s: "yard" in site_ids(s), BOUND_S) for s in (a, b))
    print(f"\nsite added elsewhere: seen by both instances after {took * 1000:.0f} ms (notify)")

    # A change whose notification is lost (triggers off for this session): the poll finds it.
    with psycopg.connect(postgres_url, autocommit=True) as conn, conn.transaction():
        conn.execute("SET LOCAL session_replication_role = replica")
        conn.execute("DELETE FROM sites WHERE id = 'yard'")
        conn.execute("UPDATE catalog_revision SET n = n + 1")
    took = _seen_within(lambda: "yard" not in site_ids(b), BOUND_S)
    print(f"site removed without a notification: seen after {took * 1000:.0f} ms (poll)")
    assert took < POLL_S + 0.5
