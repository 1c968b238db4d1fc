"""Figure, strip and timelapse through the app and the CLI, on small scenes made in the test."""

import io
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import imageio.v3 as iio
import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from pyproj import Transformer
from rasterio.warp import transform_bounds
from typer.testing import CliRunner

from tests.conftest import make_cog
from tests.overlays.conftest import post, sighting
from tests.publish.helpers import pixels, scale_bar_ends, strongly_red, text_chunks
from tiles.catalog import Catalog, Scene
from tiles.ingest import describe_cog
from tiles.sites import load_sites
from tumen.app import create_app
from tumen.cli import app as cli
from tumen.settings import Settings

# Inside the border scenes (5 m pixels, UTM 52N), around the bridge.
BBOX = (130.638, 42.413, 130.646, 42.418)
BOX = ",".join(map(str, BBOX))
WAGON = (230, 126, 34)  # overlays.kinds: the colours the map uses
SHIP = (192, 57, 43)


def figure(api: TestClient, **params: object) -> bytes:
    r = api.get("/sites/bridge/figure.png", params={"bbox": BOX, **params})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "image/png"
    return r.content


def test_figure_scale_bar_is_the_stated_metres_at_the_grid_scale(api: TestClient) -> None:
    png = figure(api, width=900, datetime="2022-11-04T13:30:00+09:00")
    chunks = text_chunks(png)
    minx, _, maxx, _ = transform_bounds("EPSG:4326", "EPSG:32652", *BBOX, densify_pts=21)
    m_per_px = (maxx - minx) / 900  # the scene's own UTM grid, 900 px across the bbox
    assert float(chunks["tumen:m_per_px"]) == pytest.approx(m_per_px, rel=1e-4)
    rgb = pixels(png)
    assert rgb.shape[1] == 900
    height = int(chunks["tumen:image_height"])
    first, last = scale_bar_ends(rgb, range(height * 3 // 4, height))
    assert abs((last - first) - float(chunks["tumen:scalebar_m"]) / m_per_px) <= 1
    assert chunks["tumen:scene_id"] == "border-b"
    assert chunks["tumen:datetime"] == "2022-11-04T13:10:00+09:00"


def test_figure_credit_and_synthetic_stamp(api: TestClient) -> None:
    png = figure(api, width=600)
    chunks = text_chunks(png)
    assert chunks["tumen:credit"] == "Image © test provider, CC0-1.0; annotations: tumen"
    assert chunks["tumen:synthetic"] == "true"
    rgb = pixels(png)
    band = rgb[int(chunks["tumen:image_height"]) :]
    assert (band < 128).all(axis=2).any()  # the heading and credit lines are drawn
    assert strongly_red(rgb[:100, :250]) > 1000  # the SYNTHETIC stamp, top left


def ring_pixels(rgb: np.ndarray, lon: float, lat: float, m_per_px: float, colour: tuple) -> int:
    """Pixels of ``colour`` within 12 px of where lon/lat falls on the figure."""
    x, y = Transformer.from_crs("EPSG:4326", "EPSG:32652", always_xy=True).transform(lon, lat)
    minx, _, _, maxy = transform_bounds("EPSG:4326", "EPSG:32652", *BBOX, densify_pts=21)
    col, row = round((x - minx) / m_per_px), round((maxy - y) / m_per_px)
    window = rgb[row - 12 : row + 13, col - 12 : col + 13]
    return int(np.all(window == colour, axis=2).sum())


def test_figure_draws_only_confirmed_sightings(api: TestClient) -> None:
    post(api, sighting())  # reported: confirmed from the start
    candidate = sighting(kind="ship", method="automated", confidence=0.6, sources=[])
    candidate["geometry"]["coordinates"] = [130.6405, 42.4150]
    post(api, candidate)  # automated: unreviewed, not published
    png = figure(api, width=800, datetime="2022-11-04T13:30:00+09:00")
    m_per_px = float(text_chunks(png)["tumen:m_per_px"])
    rgb = pixels(png)
    assert ring_pixels(rgb, 130.6425, 42.4165, m_per_px, WAGON) > 20
    assert ring_pixels(rgb, 130.6405, 42.4150, m_per_px, SHIP) == 0
    assert not np.all(rgb == SHIP, axis=2).any()


def test_figure_width_over_the_cap_is_400(api: TestClient) -> None:
    r = api.get("/sites/bridge/figure.png", params={"bbox": BOX, "width": 3001})
    assert r.status_code == 400
    assert "3000" in r.json()["detail"] and "TUMEN_FIGURE_MAX_WIDTH" in r.json()["detail"]
    tall = api.get(
        "/sites/bridge/figure.png", params={"bbox": "130.6400,42.405,130.6401,42.418", "width": 800}
    )
    assert tall.status_code == 400 and "px tall" in tall.json()["detail"]


def test_figure_bad_input(api: TestClient) -> None:
    over = api.get("/sites/bridge/figure.png", params={"bbox": "130.55,42.35,130.70,42.45"})
    assert over.status_code == 400 and "over the limit of 4 km²" in over.json()["detail"]
    unknown = api.get("/sites/atlantis/figure.png", params={"bbox": BOX})
    assert unknown.status_code == 404 and "atlantis" in unknown.json()["detail"]
    outside = api.get("/sites/bridge/figure.png", params={"bbox": "130.70,42.50,130.71,42.51"})
    assert outside.status_code == 400 and "outside scene" in outside.json()["detail"]
    early = api.get("/sites/bridge/figure.png", params={"bbox": BOX, "datetime": "2020-01-01"})
    assert early.status_code == 404
    flat = api.get("/sites/bridge/figure.png", params={"bbox": "130.64,42.413,130.64,42.418"})
    assert flat.status_code == 400 and "no area" in flat.json()["detail"]


def test_report_zip_includes_the_figure(api: TestClient) -> None:
    import zipfile

    r = api.get("/sites/bridge/report", params={"bbox": BOX})
    assert r.status_code == 200, r.text
    z = zipfile.ZipFile(io.BytesIO(r.content))
    chunks = text_chunks(z.read("figure.png"))
    assert chunks["tumen:scene_id"] == "border-c" and "annotations: tumen" in chunks["tumen:credit"]
    assert Image.open(io.BytesIO(z.read("figure.png"))).width == 1600


def gutter_runs(rgb: np.ndarray, row: int) -> int:
    from publish.strip import GUTTER

    inside = ~np.all(rgb[row] == GUTTER, axis=1)
    return int(np.count_nonzero(inside[1:] & ~inside[:-1]) + inside[0])


def test_strip_has_a_panel_per_date_each_that_dates_image(api: TestClient) -> None:
    times = ["2022-11-04T10:24:00+09:00", "2022-11-04T13:10:00+09:00", "2022-11-04T14:29:00+09:00"]
    r = api.get(
        "/sites/bridge/strip.png", params={"bbox": BOX, "dates": ",".join(times), "width": 960}
    )
    assert r.status_code == 200, r.text
    chunks = text_chunks(r.content)
    assert chunks["tumen:scene_id"] == "border-a, border-b, border-c"
    rgb = pixels(r.content)
    import json

    boxes = json.loads(chunks["tumen:panels"])
    assert len(boxes) == 3
    assert gutter_runs(rgb, boxes[0][1] + boxes[0][3] // 2) == 3
    # each panel is the figure of its date at the panel's width: same pixels mid-panel
    for (x, y, w, h), when in zip(boxes, times, strict=True):
        alone = pixels(figure(api, width=w, datetime=when))
        mid = (slice(h // 2 - 8, h // 2 + 8), slice(w // 2 - 8, w // 2 + 8))
        panel = rgb[y : y + h, x : x + w]
        assert np.array_equal(panel[mid], alone[mid]), when


def test_strip_of_days_takes_each_days_last_scene(api: TestClient) -> None:
    r = api.get("/sites/bridge/strip.png", params={"bbox": BOX, "dates": "2022-11-04"})
    assert r.status_code == 200, r.text
    assert text_chunks(r.content)["tumen:scene_id"] == "border-c"


def test_strip_bad_dates(api: TestClient) -> None:
    missing = api.get(
        "/sites/bridge/strip.png", params={"bbox": BOX, "dates": "2022-11-04,2022-11-05"}
    )
    assert missing.status_code == 404
    assert "2022-11-05" in missing.json()["detail"] and "2022-11-04" in missing.json()["detail"]
    many = api.get(
        "/sites/bridge/strip.png", params={"bbox": BOX, "dates": ",".join(["2022-11-04"] * 13)}
    )
    assert many.status_code == 400 and "limit of 12" in many.json()["detail"]
    bad = api.get("/sites/bridge/strip.png", params={"bbox": BOX, "dates": "2022-11-04,soon"})
    assert bad.status_code == 400 and "'soon'" in bad.json()["detail"]
    empty = api.get("/sites/bridge/strip.png", params={"bbox": BOX, "dates": "2022-11-04,"})
    assert empty.status_code == 400


@pytest.fixture
def uneven(keyed: Settings, border_scenes: list[Scene]) -> list[Scene]:
    """Besides the three border scenes: one far east of the bbox, one covering a third of it."""
    minx, miny, maxx, maxy = transform_bounds("EPSG:4326", "EPSG:32652", *BBOX, densify_pts=21)
    third = maxx - (maxx - minx) / 3  # the scene's west edge: two thirds of the bbox uncovered
    return [
        bridge_scene(keyed, "far-east", "2022-11-04T12:00", origin=(700_000.0, 4_699_250.0)),
        bridge_scene(
            keyed, "sliver", "2022-11-04T12:30", origin=(third, maxy + 100), size=(200, 200)
        ),
    ]


def bridge_scene(settings: Settings, scene_id: str, when: str, **cog: Any) -> Scene:
    """A scene registered as the bridge's, wherever its footprint lies."""
    path = make_cog(settings.scenes_dir / f"{scene_id}.tif", **cog)
    scene = describe_cog(
        path,
        scene_id=scene_id,
        when=datetime.fromisoformat(when + ":00+09:00"),
        sites=load_sites(settings.sites_file),
        site="bridge",
        provider="test provider",
        licence="CC0-1.0",
        description="SYNTHETIC test scene",
        synthetic=True,
        data_dir=settings.data_dir,
    )
    return Catalog(settings.database, settings.data_dir).add(scene)


@pytest.fixture
def app_with_uneven(keyed: Settings, uneven: list[Scene]) -> Iterator[TestClient]:
    with TestClient(create_app(keyed)) as c:
        yield c


@pytest.mark.parametrize("fmt", ["gif", "mp4"])
def test_timelapse_has_a_frame_per_covering_scene(app_with_uneven: TestClient, fmt: str) -> None:
    r = app_with_uneven.get(
        f"/sites/bridge/timelapse.{fmt}",
        params={"bbox": BOX, "from": "2022-11-04", "to": "2022-11-04", "width": 320},
    )
    assert r.status_code == 200, r.text
    assert r.headers["x-tumen-frames"] == "border-a, border-b, border-c"
    dropped = r.headers["x-tumen-dropped"]
    assert (
        "far-east (outside the bbox)" in dropped and "sliver (" in dropped and "nodata" in dropped
    )
    if fmt == "gif":
        assert r.headers["content-type"] == "image/gif"
        assert Image.open(io.BytesIO(r.content)).n_frames == 3
    else:
        assert r.headers["content-type"] == "video/mp4"
        frames = iio.imread(r.content, index=None, extension=".mp4", plugin="FFMPEG")
        assert frames.shape[0] == 3 and frames.shape[2] == 320


def test_timelapse_range_and_limits(keyed: Settings, border_scenes: list[Scene]) -> None:
    capped = keyed.model_copy(update={"timelapse_max_frames": 2})
    with TestClient(create_app(capped)) as c:
        url = "/sites/bridge/timelapse.gif"
        many = c.get(url, params={"bbox": BOX})
        assert many.status_code == 400
        assert "limit of 2 frames" in many.json()["detail"]
        assert "TUMEN_TIMELAPSE_MAX_FRAMES" in many.json()["detail"]
        two = c.get(url, params={"bbox": BOX, "from": "2022-11-04T13:00:00+09:00", "width": 200})
        assert two.status_code == 200 and two.headers["x-tumen-frames"] == "border-b, border-c"
        none = c.get(url, params={"bbox": BOX, "from": "2023-01-01"})
        assert none.status_code == 404 and "no scene between" in none.json()["detail"]
        wide = c.get(url, params={"bbox": BOX, "width": 1281})
        assert wide.status_code == 400 and "TUMEN_TIMELAPSE_MAX_WIDTH" in wide.json()["detail"]
        assert c.get("/sites/bridge/timelapse.avi", params={"bbox": BOX}).status_code == 400
        assert c.get(url, params={"bbox": BOX, "to": "tomorrow"}).status_code == 400


def test_cli_writes_figure_and_timelapse(
    keyed: Settings,
    border_scenes: list[Scene],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TUMEN_DATA_DIR", str(keyed.data_dir))
    out = tmp_path / "fig.png"
    done = CliRunner().invoke(
        cli, ["figure", "bridge", "--bbox", BOX, "--width", "500", "-o", str(out)]
    )
    assert done.exit_code == 0, done.output
    assert (
        Image.open(out).width == 500
        and text_chunks(out.read_bytes())["tumen:scene_id"] == "border-c"
    )
    gif = tmp_path / "t.gif"
    done = CliRunner().invoke(
        cli, ["timelapse", "bridge", "--bbox", BOX, "--width", "200", "--sightings", "-o", str(gif)]
    )
    assert done.exit_code == 0, done.output
    assert "3 frames" in done.output and Image.open(gif).n_frames == 3
    refused = CliRunner().invoke(cli, ["figure", "bridge", "--bbox", BOX, "--width", "5000"])
    assert refused.exit_code == 2 and "TUMEN_FIGURE_MAX_WIDTH" in refused.output
