"""``tumen watch``: polls a STAC API (a real local one), ingests each new item once, stops on a signal."""

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import feedparser
import pytest
import uvicorn
from fastapi.testclient import TestClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.staticfiles import StaticFiles
from typer.testing import CliRunner

from tests.conftest import free_port, make_cog, register
from tests.tiles.test_stac_source import TUMANGANG, item
from tiles.catalog import Catalog
from tumen.app import create_app
from tumen.cli import app
from tumen.cli.common import CommandRefused
from tumen.cli.watch import parse_every
from tumen.settings import Settings

runner = CliRunner()


class StacApi:
    """A STAC API on a free local port: /search over ``items`` (which a test may add to), the COG by range."""

    def __init__(self, www: Path) -> None:
        make_cog(www / "scene.tif", seed=21)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.items: list[dict[str, Any]] = []
        self.searches: list[dict[str, Any]] = []
        web = Starlette(
            routes=[
                Route("/", self.landing),
                Route("/search", self.search, methods=["GET", "POST"]),
                Route("/collections/ps/items/{iid}", self.get_item),
            ]
        )
        web.mount("/files", StaticFiles(directory=www))
        config = uvicorn.Config(web, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)

    def add(self, iid: str, when: str) -> None:
        """An item over Tumangang taken at ``when``, its visual asset the COG."""
        asset = {"href": f"{self.url}/files/scene.tif", "type": "image/tiff; application=geotiff"}
        self.items.append(item(self.url, iid, TUMANGANG, when, 0, {"visual": asset}))

    def landing(self, request: Request) -> JSONResponse:
        search = {"rel": "search", "href": f"{self.url}/search", "type": "application/geo+json"}
        return JSONResponse(
            {
                "type": "Catalog",
                "id": "test",
                "stac_version": "1.0.0",
                "description": "watch fixture",
                "conformsTo": [
                    "https://api.stacspec.org/v1.0.0/core",
                    "https://api.stacspec.org/v1.0.0/item-search",
                ],
                "links": [
                    {"rel": "self", "href": f"{self.url}/"},
                    {"rel": "root", "href": f"{self.url}/"},
                    {**search, "method": "GET"},
                    {**search, "method": "POST"},
                ],
            }
        )

    async def search(self, request: Request) -> JSONResponse:
        q = await request.json() if request.method == "POST" else dict(request.query_params)
        self.searches.append(q)
        start, _, end = (q.get("datetime") or "../..").partition("/")

        def instant(text: str) -> datetime:
            return datetime.fromisoformat(text.replace("Z", "+00:00"))

        out = [
            it
            for it in self.items
            if (start in ("", "..") or instant(it["properties"]["datetime"]) >= instant(start))
            and (end in ("", "..") or instant(it["properties"]["datetime"]) <= instant(end))
        ]
        return JSONResponse({"type": "FeatureCollection", "features": out, "links": []})

    def get_item(self, request: Request) -> JSONResponse:
        return JSONResponse(next(i for i in self.items if i["id"] == request.path_params["iid"]))

    def __enter__(self) -> "StacApi":
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        while not self.server.started:
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def stac(tmp_path: Path) -> Iterator[StacApi]:
    (tmp_path / "www").mkdir()
    with StacApi(tmp_path / "www") as api:
        yield api


@pytest.fixture
def env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("TUMEN_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("COLUMNS", "250")
    return settings


def watch_once(api: str, *more: str) -> Any:
    return runner.invoke(
        app, ["watch", "tumangang", "--stac", api, "--once", "--no-bake", "--no-analyze", *more]
    )


def scene_ids(settings: Settings) -> list[str]:
    return [s.id for s in Catalog(settings.database, settings.data_dir).list()]


def test_every_reads_minutes_hours_days_and_refuses_under_a_minute(env: Settings) -> None:
    assert parse_every("30m") == timedelta(minutes=30)
    assert parse_every("6h") == timedelta(hours=6)
    assert parse_every("1d") == timedelta(days=1)
    assert parse_every("90s") == timedelta(seconds=90)
    for bad in ("30s", "0m", "6 hours", "h"):
        with pytest.raises(CommandRefused, match="--every"):
            parse_every(bad)
    r = runner.invoke(app, ["watch", "tumangang", "--stac", "http://x", "--every", "30s"])
    assert r.exit_code == 2 and "shorter than the minimum of 1 minute" in r.output
    r = runner.invoke(app, ["watch", "atlantis", "--stac", "http://x", "--once"])
    assert r.exit_code == 2 and "unknown site 'atlantis'" in r.output


def test_once_ingests_each_new_item_once_and_the_feed_shows_it(
    env: Settings, stac: StacApi
) -> None:
    register(env, "tumangang-old", "2023-10-01T02:00:00+00:00")  # the newest scene it has
    stac.add("ps-20230901", "2023-09-01T02:00:00Z")  # older than what it has: not wanted
    stac.add("ps-20231006", "2023-10-06T02:00:00Z")
    stac.add("ps-20231007", "2023-10-07T02:00:00Z")

    r = watch_once(stac.url)
    assert r.exit_code == 0, r.output
    assert "watch: tumangang: new item ps-20231006 (2023-10-06T02:00:00+00:00) registered" in (
        r.output
    )
    assert "watch: tumangang: 2 new scenes (ps-20231006, ps-20231007)" in r.output
    assert "next poll" not in r.output
    assert scene_ids(env) == ["tumangang-old", "ps-20231006", "ps-20231007"]
    # Searched from the newest scene the site had, over the site's bbox.
    assert stac.searches[-1]["datetime"].startswith("2023-10-01T02:00:00Z/")

    r = watch_once(stac.url)
    assert r.exit_code == 0, r.output
    assert "watch: tumangang: 0 new scenes" in r.output and "new item" not in r.output
    assert stac.searches[-1]["datetime"].startswith("2023-10-07T02:00:00Z/")
    assert len(scene_ids(env)) == 3

    stac.add("ps-20231008", "2023-10-08T02:00:00Z")
    r = watch_once(stac.url)
    assert "watch: tumangang: 1 new scene (ps-20231008)" in r.output
    scene = Catalog(env.database, env.data_dir).get("ps-20231008")
    assert scene.source_item == f"{stac.url}/collections/ps/items/ps-20231008"
    assert scene.provider == "Planet Labs PBC" and scene.path == f"{stac.url}/files/scene.tif"

    with TestClient(create_app(env)) as client:
        feed = feedparser.parse(client.get("/sites/tumangang/feed.atom").content)
    newest = feed.entries[0]
    assert newest.id == "tag:tumen,2024:scene/ps-20231008"
    assert newest.title == "New image of Tumangang station and rail facility (DPRK): 2023-10-08"
    assert "http://testserver/scenes/ps-20231008" in {link.href for link in newest.links}


def test_max_items_leaves_the_rest_for_the_next_poll(env: Settings, stac: StacApi) -> None:
    for day in (6, 7, 8):
        stac.add(f"ps-202310{day:02}", f"2023-10-{day:02}T02:00:00Z")
    r = watch_once(stac.url, "--max-items", "2", "--since", "2023-10-01")
    assert r.exit_code == 0, r.output
    assert "2 new scenes (ps-20231006, ps-20231007), 1 more left for the next poll" in r.output
    r = watch_once(stac.url, "--max-items", "2")
    assert "1 new scene (ps-20231008)" in r.output
    assert scene_ids(env) == ["ps-20231006", "ps-20231007", "ps-20231008"]


def test_new_scene_is_analysed_as_stac_ingest_does(env: Settings, stac: StacApi) -> None:
    stac.add("ps-20231006", "2023-10-06T02:00:00Z")
    r = runner.invoke(
        app,
        ["watch", "tumangang", "--stac", stac.url, "--once", "--no-bake", "--since", "2023-10-01"],
    )
    assert r.exit_code == 0, r.output
    # The analysis ran (and said so): with no other scene of the site it has nothing to compare with.
    assert "ps-20231006: 0 trains" in r.output and "not analysed" in r.output


def test_unreachable_api_is_one_line_per_poll_and_fails_once(env: Settings) -> None:
    nobody = f"http://127.0.0.1:{free_port()}"
    r = watch_once(nobody)
    assert r.exit_code == 1
    failures = [line for line in r.output.splitlines() if "failed" in line]
    assert len(failures) == 1 and f"tumangang: STAC search at {nobody} failed" in failures[0]
    assert scene_ids(env) == []


def test_watch_keeps_polling_until_sigterm_then_ends_cleanly(env: Settings) -> None:
    nobody = f"http://127.0.0.1:{free_port()}"
    tumen = Path(sys.executable).with_name("tumen")
    proc = subprocess.Popen(
        [str(tumen), "watch", "tumangang", "--stac", nobody, "--every", "1m", "--no-bake"],
        env={**os.environ, "TUMEN_DATA_DIR": str(env.data_dir), "COLUMNS": "250"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            lines.append(proc.stdout.readline())
            if "next poll at" in lines[-1]:
                break
        assert "failed" in "".join(lines) and "next poll at" in lines[-1]
        # A failed poll does not end the watch: it waits for the next one.
        time.sleep(1)
        assert proc.poll() is None
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0
    assert "SIGTERM: stopping" in out and out.rstrip().endswith("watch: stopped")
