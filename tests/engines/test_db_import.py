"""`tumen db import`: a one-machine tumen's SQLite file into PostgreSQL, as it is, or not at all.

A data dir is built in code (sites seeded from the sites file, one added and one removed; a local
and a linked scene; sightings created, patched, replaced, reviewed and deleted), imported into a
fresh migrated database, and read back through the PostgreSQL store and catalog: the same
documents, histories, scenes and sites. Imported twice it refuses (or, with --skip-existing, copies
nothing); a failure midway leaves the database as it was; a served instance carries on with the
same ETags; migrated to the bucket first (the README's order), no scene is left local.
"""

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from typer.testing import CliRunner

from overlays.errors import FeatureNotFound
from overlays.models import ObservationIn, ReviewIn
from overlays.postgres_store import PostgresStore
from overlays.sqlite_store import SQLiteStore
from overlays.store import Change, Query
from tests.conftest import LiveServer, make_cog, register, register_file
from tests.engines.postgres import PostgresServer, create_database, drop_database
from tests.engines.seaweed import SeaweedServer
from tiles.catalog import Catalog
from tiles.catalog_db import PostgresCatalogDB, SQLiteCatalogDB, direct_connect
from tumen.app import create_app
from tumen.cli import app as cli
from tumen.settings import Settings

KEY = "import-test-key"
ITEMS = "/api/collections/observations/items"
YARD = {
    "id": "yard",
    "name": "Test yard",
    "bbox": [130.60, 42.41, 130.62, 42.42],
    "centre": [130.61, 42.415],
}
TABLES = (
    "sites",
    "scenes",
    "scene_sites",
    "catalog_meta",
    "catalog_revision",
    "observations",
    "observation_history",
)
runner = CliRunner()


def sighting(count: int, kind: str = "wagon", site: str = "bridge") -> ObservationIn:
    return ObservationIn.model_validate(
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [130.6425, 42.4165]},
            "properties": {
                "site": site,
                "observed_at": "2022-11-04T13:10:00+09:00",
                "kind": kind,
                "count": count,
                "method": "reported",
                "sources": [{"outlet": "38 North"}],
            },
        }
    )


@dataclasses.dataclass
class OneMachine:
    """A SQLite data dir as one machine left it."""

    settings: Settings
    reviewed: str  # created, patched, replaced, reviewed: four history lines, version 4
    kept: str
    deleted: str

    @property
    def sqlite(self) -> Path:
        return self.settings.sqlite_file

    @property
    def live(self) -> list[str]:
        return [self.reviewed, self.kept]


@pytest.fixture
def machine(tmp_path: Path) -> OneMachine:
    settings = Settings(
        data_dir=tmp_path / "data", database_url=None, storage_url=None, api_key=SecretStr(KEY)
    )
    catalog = Catalog(settings.sqlite_file, settings.data_dir, settings.sites_file)  # seeded
    catalog.sites.add(YARD)
    catalog.sites.remove("rajin")  # gone here: the sites file must not bring it back later
    register(settings, "border-a", "2022-11-04T10:24:00+09:00", seed=1)
    cog = make_cog(settings.data_dir / "staging" / "b.tif", seed=2)
    linked = register_file(settings, cog, "linked-b", "2022-11-04T13:10:00+09:00")
    catalog.add(linked.model_copy(update={"path": "https://example.org/b.tif"}))
    store = SQLiteStore(settings.sqlite_file)
    reviewed = store.create(sighting(3), actor="alice").id
    store.patch(reviewed, sighting(4), actor="bob", if_version=1)
    store.replace(reviewed, sighting(5, kind="container"), actor="alice", if_version=2)
    store.review(reviewed, ReviewIn(review="disputed", note="a cloud"), actor="carol", if_version=3)
    kept = store.create(sighting(7, site="khasan"), actor="import:x.geojson", fid="obs-kept").id
    deleted = store.create(sighting(9), actor="alice").id
    store.delete(deleted, actor="alice", if_version=1)
    return OneMachine(settings, reviewed, kept, deleted)


def import_(url: str | None, *args: str, data_dir: Path | None = None) -> Any:
    env: dict[str, str | None] = {"TUMEN_DATABASE_URL": url, "TUMEN_STORAGE_URL": None}
    if data_dir is not None:
        env["TUMEN_DATA_DIR"] = str(data_dir)
    return runner.invoke(cli, ["db", "import", *args], env=env)


def snapshot(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every tumen table, as text, sorted: what 'unchanged' compares."""
    with psycopg.connect(url, autocommit=True) as conn:
        return {
            table: sorted(
                tuple(str(v) for v in row)
                for row in conn.execute(f"SELECT * FROM {table}").fetchall()  # type: ignore[arg-type]
            )
            for table in TABLES
        }


def without_seq(changes: list[Change]) -> list[Change]:
    return [dataclasses.replace(c, seq=0) for c in changes]


def one_line(output: str) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, output
    return lines[0]


def test_everything_is_copied_as_it_is(machine: OneMachine, postgres_url: str) -> None:
    r = import_(postgres_url, data_dir=machine.settings.data_dir)  # the data dir's file by default
    assert r.exit_code == 0, r.output
    assert (
        "imported 4 site(s), 2 scene(s), 2 sighting(s) with 7 history line(s) (0 skipped)"
        in r.output
    )
    warning = [line for line in r.output.splitlines() if "warning" in line]
    assert len(warning) == 1 and "1 scene (border-a)" in warning[0], r.output
    assert "tumen storage migrate" in warning[0] and "TUMEN_STORAGE_URL" in warning[0]

    sq, pg = SQLiteStore(machine.sqlite), PostgresStore(direct_connect(postgres_url))
    for fid in machine.live:
        assert pg.get(fid) == sq.get(fid)
        assert without_seq(pg.history(fid)) == without_seq(sq.history(fid))
    assert pg.get(machine.reviewed).version == 4
    assert [c.action for c in pg.history(machine.reviewed)] == [
        "create",
        "patch",
        "replace",
        "review",
    ]
    with pytest.raises(FeatureNotFound):
        pg.get(machine.deleted)
    assert without_seq(pg.history(machine.deleted)) == without_seq(sq.history(machine.deleted))
    queries = [
        Query(limit=1000),
        Query(descending=True, equals={"review": "disputed"}),
        Query(
            bbox=(130.64, 42.41, 130.65, 42.42),
            start=datetime(2022, 11, 4, 4, 10, tzinfo=UTC),
            end=datetime(2022, 11, 4, 4, 10, tzinfo=UTC),
            equals={"site": "bridge"},
        ),
        Query(start=datetime(2022, 11, 4, 4, 11, tzinfo=UTC)),  # after every sighting: none
    ]
    for q in queries:
        assert pg.query(q) == sq.query(q)
    assert pg.query(queries[0]).matched == 2 and pg.query(queries[3]).matched == 0
    assert without_seq(pg.recent_changes(limit=100)) == without_seq(sq.recent_changes(limit=100))
    assert without_seq(pg.recent_changes(limit=100, site="khasan")) == without_seq(
        sq.recent_changes(limit=100, site="khasan")
    )

    sq_db, pg_db = SQLiteCatalogDB(machine.sqlite), PostgresCatalogDB(postgres_url)
    assert pg_db.records(None) == sq_db.records(None)  # the JSON records, byte for byte
    assert pg_db.site_documents() == sq_db.site_documents()  # in the order added
    assert pg_db.seeded_from() == sq_db.seeded_from() == str(machine.settings.sites_file)
    data_dir = machine.settings.data_dir
    # Opened with the sites file (as `tumen serve` does): it was seeded already, rajin stays gone.
    on_pg = Catalog(postgres_url, data_dir, machine.settings.sites_file)
    on_sqlite = Catalog(machine.sqlite, data_dir, machine.settings.sites_file)
    assert on_pg.list() == on_sqlite.list()
    assert [s.id for s in on_pg.list()] == ["border-a", "linked-b"]
    for site in ("bridge", "khasan", "yard"):
        assert on_pg.list(site) == on_sqlite.list(site)
    assert on_pg.at("bridge") == on_sqlite.at("bridge")
    assert list(on_pg.sites.documents().items()) == list(on_sqlite.sites.documents().items())
    assert list(on_pg.sites.documents()) == ["bridge", "khasan", "tumangang", "yard"]


def test_imported_twice_it_refuses_and_with_skip_existing_copies_nothing(
    machine: OneMachine, postgres_url: str
) -> None:
    assert import_(postgres_url, str(machine.sqlite)).exit_code == 0
    before = snapshot(postgres_url)

    again = import_(postgres_url, str(machine.sqlite))
    assert again.exit_code == 2
    line = one_line(again.output)
    assert line.startswith("error: the database already holds 4 sites (bridge, khasan"), line
    assert "2 scenes (border-a, linked-b), 3 sightings (" in line
    assert "nothing written" in line and "--skip-existing" in line
    assert snapshot(postgres_url) == before

    skipped = import_(postgres_url, str(machine.sqlite), "--skip-existing")
    assert skipped.exit_code == 0, skipped.output
    assert (
        "imported 0 site(s), 0 scene(s), 0 sighting(s) with 0 history line(s) (9 skipped)"
        in skipped.output
    )
    assert snapshot(postgres_url) == before

    # Meanwhile: a sighting changed on PostgreSQL, a new one made on the one machine.
    pg = PostgresStore(direct_connect(postgres_url))
    pg.patch(machine.kept, sighting(8, site="khasan"), actor="dora", if_version=1)
    new = SQLiteStore(machine.sqlite).create(sighting(1), actor="alice").id
    more = import_(postgres_url, str(machine.sqlite), "--skip-existing")
    assert more.exit_code == 0, more.output
    assert (
        "imported 0 site(s), 0 scene(s), 1 sighting(s) with 1 history line(s) (9 skipped)"
        in more.output
    )
    assert pg.get(new) == SQLiteStore(machine.sqlite).get(new)
    assert pg.get(machine.kept).version == 2  # left alone: not put back to the file's version 1
    assert pg.get(machine.kept).properties["count"] == 8


def test_without_a_database_url_it_refuses_in_one_line(machine: OneMachine) -> None:
    r = import_(None, str(machine.sqlite))
    assert r.exit_code == 2
    assert one_line(r.output).startswith("error: TUMEN_DATABASE_URL is not set")


def test_an_unmigrated_database_is_refused(machine: OneMachine, postgres: PostgresServer) -> None:
    url = create_database(postgres, "import_unmigrated")
    try:
        r = import_(url, str(machine.sqlite))
        assert r.exit_code == 2
        line = one_line(r.output)
        assert "lacks 2 schema step(s)" in line and "run 'tumen db upgrade'" in line, line
        with psycopg.connect(url) as conn:
            tables = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
            assert tables.fetchone() == (0,)
    finally:
        drop_database(postgres, "import_unmigrated")


def test_a_missing_sqlite_file_is_refused(tmp_path: Path, postgres_url: str) -> None:
    r = import_(postgres_url, str(tmp_path / "nowhere.sqlite"))
    assert r.exit_code == 2
    assert "no such SQLite file" in one_line(r.output)
    assert not (tmp_path / "nowhere.sqlite").exists()


def test_a_sighting_already_there_refuses_the_whole_import(
    machine: OneMachine, postgres_url: str
) -> None:
    PostgresStore(direct_connect(postgres_url)).create(
        sighting(1), actor="elsewhere", fid=machine.kept
    )
    before = snapshot(postgres_url)
    r = import_(postgres_url, str(machine.sqlite))
    assert r.exit_code == 2
    line = one_line(r.output)
    assert "already holds 1 sighting (obs-kept):" in line and "scene" not in line, line
    assert snapshot(postgres_url) == before  # the sites and scenes written first are gone too


@pytest.fixture
def failing_review_lines(postgres_url: str) -> Iterator[None]:
    """PostgreSQL refuses to write a 'review' history line: the import fails near its end."""
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(
            "CREATE FUNCTION refuse_review() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN IF NEW.action = 'review' THEN RAISE EXCEPTION 'disk full (test)'; END IF; "
            "RETURN NEW; END $$"
        )
        conn.execute(
            "CREATE TRIGGER refuse_review BEFORE INSERT ON observation_history "
            "FOR EACH ROW EXECUTE FUNCTION refuse_review()"
        )
    yield


def test_a_failure_midway_leaves_postgres_as_it_was(
    machine: OneMachine, postgres_url: str, failing_review_lines: None
) -> None:
    before = snapshot(postgres_url)
    r = import_(postgres_url, str(machine.sqlite))
    assert r.exit_code == 2
    line = one_line(r.output)
    assert "the import failed and nothing was written" in line and "disk full (test)" in line
    assert snapshot(postgres_url) == before


def test_many_rows_go_in_batches(machine: OneMachine, postgres_url: str) -> None:
    SQLiteStore(machine.sqlite).create_many([(None, sighting(n)) for n in range(1200)], actor="x")
    r = import_(postgres_url, str(machine.sqlite))
    assert r.exit_code == 0, r.output
    assert "1202 sighting(s) with 1207 history line(s) (0 skipped)" in r.output
    q = Query(limit=2000)
    assert PostgresStore(direct_connect(postgres_url)).query(q) == SQLiteStore(
        machine.sqlite
    ).query(q)


def test_a_served_instance_answers_the_imported_sightings_with_their_etags(
    machine: OneMachine, postgres_url: str, tmp_path: Path
) -> None:
    assert import_(postgres_url, str(machine.sqlite)).exit_code == 0
    on_pg = Settings(data_dir=tmp_path / "other", database_url=postgres_url, api_key=SecretStr(KEY))
    with TestClient(create_app(machine.settings)) as one, LiveServer(on_pg) as served:
        for fid in machine.live:
            was, now = one.get(f"{ITEMS}/{fid}"), httpx.get(f"{served.url}{ITEMS}/{fid}")
            assert now.status_code == 200, now.text
            assert now.headers["etag"] == was.headers["etag"]
            assert {**now.json(), "links": None} == {**was.json(), "links": None}  # links: the host
            history = httpx.get(f"{served.url}{ITEMS}/{fid}/history").json()["changes"]
            assert [(c["action"], c["version"], c["at"]) for c in history] == [
                (c["action"], c["version"], c["at"])
                for c in one.get(f"{ITEMS}/{fid}/history").json()["changes"]
            ]
        assert httpx.get(f"{served.url}{ITEMS}/{machine.reviewed}").headers["etag"] == '"4"'
        assert [s["id"] for s in httpx.get(f"{served.url}/sites").json()["sites"]] == [
            s["id"] for s in one.get("/sites").json()["sites"]
        ]
        changed = httpx.patch(
            f"{served.url}{ITEMS}/{machine.reviewed}",
            json={"properties": {"count": 6}},
            headers={
                "X-API-Key": KEY,
                "If-Match": '"4"',
                "Content-Type": "application/merge-patch+json",
            },
        )
        assert changed.status_code == 200, changed.text
        assert changed.headers["etag"] == '"5"'
        assert changed.json()["properties"]["review"] == "disputed"  # the verdict carried on


def test_migrated_first_as_the_readme_says_no_scene_is_left_local(
    machine: OneMachine, postgres_url: str, seaweed: SeaweedServer
) -> None:
    data_dir = str(machine.settings.data_dir)
    bucket = seaweed.storage_url("import")
    migrated = runner.invoke(
        cli,
        ["storage", "migrate"],
        env={"TUMEN_DATA_DIR": data_dir, "TUMEN_STORAGE_URL": bucket, "TUMEN_DATABASE_URL": None},
    )
    assert migrated.exit_code == 0, migrated.output
    r = runner.invoke(
        cli,
        ["db", "import"],
        env={
            "TUMEN_DATA_DIR": data_dir,
            "TUMEN_STORAGE_URL": bucket,
            "TUMEN_DATABASE_URL": postgres_url,
        },
    )
    assert r.exit_code == 0, r.output
    assert "warning" not in r.output
    scene = Catalog(postgres_url, machine.settings.data_dir).get("border-a")
    assert scene.path.startswith("s3://") and scene == Catalog(
        machine.sqlite, machine.settings.data_dir
    ).get("border-a")
