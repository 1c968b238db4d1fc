"""X-Tumen-Resolve: a proxy learns which scene and version a tile URL stands for, without a render."""

from fastapi.testclient import TestClient

from tests.conftest import make_cog, register_file
from tiles.catalog import Scene
from tumen.settings import Settings

TILE = "WebMercatorQuad/16/56550/24226.png"
PROBE = {"X-Tumen-Resolve": "1"}


def test_probe_names_the_scene_and_version_of_a_scene_tile(
    client: TestClient, border_scenes: list[Scene]
) -> None:
    r = client.get(f"/scenes/border-a/tiles/{TILE}", headers=PROBE)
    assert r.status_code == 200 and r.content == b""
    assert r.headers["x-tumen-scene"] == "border-a"
    assert r.headers["x-tumen-version"] == border_scenes[0].version
    assert "x-tumen-source" not in r.headers  # nothing was read or rendered
    tile = client.get(f"/scenes/border-a/tiles/{TILE}")
    assert tile.headers["x-tumen-version"] == border_scenes[0].version


def test_probe_of_a_site_tile_resolves_its_time(
    client: TestClient, border_scenes: list[Scene]
) -> None:
    at = client.get(
        f"/sites/bridge/tiles/{TILE}",
        params={"datetime": "2022-11-04T13:15:00+09:00"},
        headers=PROBE,
    )
    assert at.headers["x-tumen-scene"] == "border-b"
    assert at.headers["x-tumen-version"] == border_scenes[1].version
    latest = client.get(f"/sites/bridge/tiles/{TILE}", headers=PROBE)
    assert latest.headers["x-tumen-scene"] == "border-c"


def test_probe_follows_a_re_ingest(
    client: TestClient, settings: Settings, border_scenes: list[Scene]
) -> None:
    before = client.get(f"/scenes/border-a/tiles/{TILE}", headers=PROBE).headers
    path = make_cog(settings.scenes_dir / "border-a-v2.tif", seed=99)
    again = register_file(settings, path, "border-a", "2022-11-04T10:24:00+09:00")
    after = client.get(f"/scenes/border-a/tiles/{TILE}", headers=PROBE).headers
    assert before["x-tumen-version"] != after["x-tumen-version"] == again.version


def test_probe_of_what_names_no_scene_is_empty_and_the_tile_says_why(client: TestClient) -> None:
    for url in (
        f"/scenes/nope/tiles/{TILE}",
        f"/sites/nowhere/tiles/{TILE}",
        f"/sites/bridge/tiles/{TILE}?datetime=not-a-time",
        f"/sites/bridge/tiles/{TILE}?datetime=1990-01-01",
        f"/scenes/border-a/tiles/{TILE}?url=/etc/passwd",
    ):
        probe = client.get(url, headers=PROBE)
        assert probe.status_code == 200, url
        assert "x-tumen-scene" not in probe.headers and "x-tumen-version" not in probe.headers
        assert client.get(url).status_code in (400, 404), url


def test_probe_ignores_if_none_match(client: TestClient) -> None:
    url = f"/scenes/border-a/tiles/{TILE}"
    etag = client.get(url).headers["etag"]
    probe = client.get(url, headers={**PROBE, "If-None-Match": etag})
    assert probe.status_code == 200 and probe.headers["x-tumen-scene"] == "border-a"
