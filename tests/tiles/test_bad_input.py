"""Every bad input of the imagery side answers with its status and a message that says what was wrong."""

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tiles.catalog import Catalog, Scene
from tiles.storage import S3Storage, open_storage, split_s3
from tumen.app import create_app
from tumen.settings import Settings

TILE = "tiles/WebMercatorQuad/16/56550/24226.png"


def test_unknown_scene_is_404_naming_it(client: TestClient) -> None:
    for url in ("/scenes/no-such-scene", f"/scenes/no-such-scene/{TILE}"):
        r = client.get(url)
        assert r.status_code == 404
        assert r.json() == {"detail": "scene 'no-such-scene' is not in the catalog"}


def test_unknown_site_is_404_naming_it_and_the_known_ones(client: TestClient) -> None:
    for url in ("/sites/pyongyang/calendar", f"/sites/pyongyang/{TILE}"):
        r = client.get(url)
        assert r.status_code == 404
        detail = r.json()["detail"]
        assert "'pyongyang' is unknown" in detail
        assert "bridge, khasan, rajin, tumangang" in detail


def test_unparsable_datetime_is_400(client: TestClient) -> None:
    for url in (f"/sites/bridge/{TILE}", "/wmts/WMTSCapabilities.xml"):
        r = client.get(url, params={"datetime": "last tuesday"})
        assert r.status_code == 400, url
        assert "datetime 'last tuesday' is not ISO 8601" in r.json()["detail"]


def test_crop_of_a_point_or_straight_line_is_400_not_500(client: TestClient) -> None:
    # Found by schemathesis: GDAL cannot invert the geotransform of an empty window.
    for url, geometry in (
        ("/scenes/border-a/feature", {"type": "LineString", "coordinates": [[0, 0.58], [0, 0]]}),
        ("/scenes/border-a/feature.jp2", {"type": "Point", "coordinates": [0, 0]}),
        ("/sites/bridge/feature.png", {"type": "Point", "coordinates": [130.6425, 42.4165]}),
    ):
        r = client.post(url, json={"type": "Feature", "properties": {}, "geometry": geometry})
        assert r.status_code == 400, url
        assert "geometry: a crop needs an area" in r.json()["detail"]
        assert f"this {geometry['type']}" in r.json()["detail"]


def test_crop_of_a_malformed_geometry_is_400_not_500(client: TestClient) -> None:
    # Found by schemathesis: shapely's EmptyPartError escaped the crop-area check.
    broken = {"type": "MultiLineString", "coordinates": [{}]}
    collection = {"type": "GeometryCollection", "geometries": [broken]}
    r = client.post(
        "/scenes/border-a/feature.png",
        json={"type": "Feature", "properties": None, "geometry": collection},
    )
    assert r.status_code == 400
    assert r.json()["detail"].startswith("body.geometry")


def test_crop_of_a_multipolygon_without_rings_is_400_not_500(client: TestClient) -> None:
    # Found by schemathesis: shapely's shape() raised IndexError on it in the crop-area check.
    broken = {"type": "MultiPolygon", "coordinates": [[[[130.6, 42.41], [130.64, 42.43]]], []]}
    r = client.post(
        "/sites/bridge/feature", json={"type": "Feature", "properties": None, "geometry": broken}
    )
    assert r.status_code == 400
    assert r.json()["detail"].startswith("body.geometry")


def test_crop_of_a_geometry_mixing_2d_and_3d_is_read_not_500(client: TestClient) -> None:
    # Found by schemathesis: valid GeoJSON that shapely refuses (ValueError) in the crop-area check.
    flat = {"type": "MultiLineString", "coordinates": [[[0, 0.0, 0.0], [0.0, 0.0]]]}
    r = client.post(
        "/scenes/border-a/feature.png",
        json={"type": "Feature", "properties": None, "geometry": flat},
    )
    assert r.status_code == 400
    assert "bounds of this MultiLineString (0.0,0.0,0.0,0.0) have none" in r.json()["detail"]
    line = {"type": "LineString", "coordinates": [[130.6, 42.41, 5.0], [130.64, 42.43]]}
    r = client.post(
        "/scenes/border-a/feature.png",
        json={"type": "Feature", "properties": None, "geometry": line},
    )
    assert r.status_code == 200
    assert r.headers["content-type"] == "image/png"


def test_feature_coordinates_out_of_range_are_400_not_500(client: TestClient) -> None:
    # Found by schemathesis: 1.7e308 is finite, but rio-tiler's window overflowed to infinity.
    huge = {"type": "LineString", "coordinates": [[130.6425, 42.4165], [1.7e308, -1e7]]}
    feature = {"type": "Feature", "properties": None, "geometry": huge}
    r = client.post("/scenes/border-a/statistics", json=feature)
    assert r.status_code == 400
    assert r.json()["detail"] == (
        "geometry: (1.7e+308, -10000000.0) is not a longitude (-180 to 180) and latitude "
        "(-90 to 90); name the CRS of other coordinates in coord_crs"
    )
    r = client.post("/scenes/border-a/statistics?coord_crs=EPSG:32652", json=feature)
    assert r.status_code == 400
    assert "beyond the extent of any CRS (±1e+09)" in r.json()["detail"]
    r = client.get("/scenes/border-a/bbox/0,0,1e300,1e300.png?coord_crs=EPSG:32652")
    assert r.status_code == 400
    assert r.json()["detail"] == "maxx: 1e300 is beyond the extent of any CRS (±1e+09)"


def test_tileset_zoom_outside_the_matrix_set_is_400_not_500(client: TestClient) -> None:
    # Found by schemathesis: morecantile's InvalidZoomError (variable-scale set), and a loop over
    # every zoom up to maxzoom.
    r = client.get(
        "/scenes/border-c/tiles/CanadianNAD83_LCC",
        params={"minzoom": 3427626112, "maxzoom": 23482587412},
    )
    assert r.status_code == 400
    assert r.json()["detail"].startswith("minzoom: 3427626112 is outside CanadianNAD83_LCC (zoom 0")
    r = client.get("/sites/bridge/tiles/WebMercatorQuad", params={"maxzoom": 10**9})
    assert r.status_code == 400
    assert r.json()["detail"] == "maxzoom: 1000000000 is outside WebMercatorQuad (zoom 0 to 24)"
    r = client.get("/scenes/border-c/tiles/WebMercatorQuad", params={"minzoom": 12, "maxzoom": 14})
    assert r.status_code == 200


def test_statistics_of_a_point_still_answer(client: TestClient) -> None:
    point = {"type": "Point", "coordinates": [130.6425, 42.4165]}
    r = client.post(
        "/scenes/border-a/statistics", json={"type": "Feature", "properties": {}, "geometry": point}
    )
    assert r.status_code == 200


def test_bbox_without_area_is_400_not_500(client: TestClient) -> None:
    for bbox in ("130.6,42.41,130.6,42.42", "0,0,0,0", "130.64,42.43,130.6,42.41"):
        r = client.get(f"/scenes/border-a/bbox/{bbox}.png")
        assert r.status_code == 400, bbox
        assert (
            "has no area; minx must be less than maxx and miny less than maxy" in r.json()["detail"]
        )


def test_tile_outside_scene_is_404(client: TestClient) -> None:
    for url in (
        "/scenes/border-a/tiles/WebMercatorQuad/16/0/0.png",
        "/scenes/border-a/tiles/WebMercatorQuad/1/0/0.png",
        "/sites/bridge/tiles/WebMercatorQuad/18/0/0.png",
    ):
        r = client.get(url)
        assert r.status_code == 404, url
        assert "outside bounds" in r.json()["detail"]


def test_bad_format_or_tms_is_400_naming_it(client: TestClient) -> None:
    r = client.get("/scenes/border-a/tiles/WebMercatorQuad/16/56550/24226.gif")
    assert r.status_code == 400
    assert r.json()["detail"].startswith("format: Input should be")
    r = client.get("/scenes/border-a/tiles/NoSuchGrid/16/56550/24226.png")
    assert r.status_code == 400
    assert r.json()["detail"].startswith("tileMatrixSetId: Input should be")


def test_url_parameter_is_refused_and_opens_nothing(client: TestClient, tmp_path: Path) -> None:
    secret = tmp_path / "secret.tif"
    for url in (f"/scenes/border-a/{TILE}", "/scenes/border-a/info", f"/sites/bridge/{TILE}"):
        r = client.get(url, params={"url": str(secret)})
        assert r.status_code == 400
        assert "'url' parameter is not accepted" in r.json()["detail"]
    assert client.get("/cog/info", params={"url": str(secret)}).status_code == 404


def replace_cog(settings: Settings, scene: Scene, content: bytes | None) -> None:
    """Remove (None) or overwrite a scene's COG where it is stored: the data dir, or S3."""
    if not settings.storage_url:
        path = Catalog(settings.database, settings.data_dir).local_path(scene)
        path.unlink() if content is None else path.write_bytes(content)
        return
    storage = open_storage(settings.storage_url, settings.data_dir)
    assert isinstance(storage, S3Storage)
    if content is None:
        storage.delete(scene.path)
    else:
        bucket, key = split_s3(scene.path)
        storage.objects.client.put_object(Bucket=bucket, Key=key, Body=content)


def test_missing_cog_is_503_and_other_scenes_still_serve(
    settings: Settings, border_scenes: list[Scene]
) -> None:
    replace_cog(settings, border_scenes[0], None)
    with TestClient(create_app(settings)) as client:
        r = client.get(f"/scenes/border-a/{TILE}")
        assert r.status_code == 503
        assert r.headers["retry-after"].isdigit()
        # A file is looked for before GDAL opens it; an object in S3 is found missing by GDAL.
        reason = "cannot be read" if settings.storage_url else "is missing on disk"
        assert r.json()["detail"] == f"scene 'border-a' is unavailable: its COG {reason}"
        assert client.get(f"/scenes/border-b/{TILE}").status_code == 200


def test_corrupt_cog_is_503_and_other_scenes_still_serve(
    settings: Settings, border_scenes: list[Scene]
) -> None:
    replace_cog(settings, border_scenes[1], b"II*\x00 this is not a tiff any more" * 10)
    with TestClient(create_app(settings)) as client:
        r = client.get(f"/scenes/border-b/{TILE}")
        assert r.status_code == 503
        assert r.json()["detail"] == "scene 'border-b' is unavailable: its COG cannot be read"
        r = client.get(f"/sites/bridge/{TILE}", params={"datetime": "2022-11-04T13:30:00+09:00"})
        assert r.status_code == 503
        assert "border-b" in r.json()["detail"]
        assert client.get(f"/scenes/border-c/{TILE}").status_code == 200


def test_tile_outside_the_matrix_set_is_404_with_its_range(client: TestClient) -> None:
    cases = {
        "/scenes/border-a/tiles/WebMercatorQuad/-1/1/1.png": "zoom -1 is outside WebMercatorQuad (zoom 0 to 24)",
        "/scenes/border-a/tiles/WebMercatorQuad/99999999999999999999/1/1.png": "zoom 99999999999999999999 is outside",
        "/sites/bridge/tiles/WebMercatorQuad/2/4/0.png": "tile 2/4/0 is outside WebMercatorQuad: at zoom 2, x runs 0 to 3",
        "/scenes/border-a/tiles/WebMercatorQuad/2/0/-1.png": "tile 2/0/-1 is outside",
    }
    for url, message in cases.items():
        r = client.get(url)
        assert r.status_code == 404, (url, r.text)
        assert message in r.json()["detail"], (url, r.text)


def test_coordinates_that_are_not_coordinates_are_400(client: TestClient) -> None:
    cases = {
        "/scenes/border-a/point/999,999": "lon: 999 is not a longitude (-180 to 180)",
        "/scenes/border-a/point/130.6,nan": "lat: nan is not a finite number",
        "/scenes/border-a/bbox/inf,42.41,130.65,42.42.tif": "minx: inf is not a finite number",
        "/sites/bridge/bbox/130.6,-95,130.65,42.42.png": "miny: -95 is not a latitude (-90 to 90)",
    }
    for url, message in cases.items():
        r = client.get(url)
        assert r.status_code == 400, (url, r.text)
        assert r.json()["detail"] == message


def test_band_that_does_not_exist_is_400(client: TestClient) -> None:
    for query in ("bidx=-1", "bidx=4", "bidx=99999999999999999999", "expression=b1*b9"):
        for url in (f"/scenes/border-a/{TILE}?{query}", f"/scenes/border-a/statistics?{query}"):
            r = client.get(url)
            assert r.status_code == 400, (url, r.text)
            assert "scene 'border-a' has bands 1 to 3" in r.json()["detail"], (url, r.text)


def test_bbox_crop_is_bounded_in_pixels(client: TestClient, settings: Settings) -> None:
    from rasterio.io import MemoryFile

    # A bbox over the whole border area and far beyond: read downsampled, never allocated at 0.5 m.
    r = client.get("/scenes/border-a/bbox/100,20,160,60.tif")
    assert r.status_code == 200, r.text
    with MemoryFile(r.content) as mem, mem.open() as ds:
        assert max(ds.width, ds.height) == settings.max_part_px
    r = client.get("/scenes/border-a/bbox/130.6,42.41,130.65,42.42/9000x10.png")
    assert r.status_code == 400
    assert r.json()["detail"] == f"width: must be between 1 and {settings.max_part_px} pixels"


def test_render_parameters_out_of_range_are_400_naming_them(client: TestClient) -> None:
    stats = "/scenes/border-a/statistics"
    cases = [
        (f"/scenes/border-a/{TILE}?nodata=-1", "nodata: -1 is not a uint8 value (0 to 255)"),
        (f"/scenes/border-a/{TILE}?nodata=nan", "nodata: nan is not a uint8 value (0 to 255)"),
        (f"/sites/bridge/{TILE}?tilesize=99999999999999999999", "tilesize: must be between 1 and"),
        (f"/scenes/border-a/{TILE}?buffer=1e308", "buffer: must be between 0 and 256 pixels"),
        (f"/scenes/border-a/{TILE}?padding=-3", "padding: must be between 0 and 256 pixels"),
        (f"/scenes/border-a/{TILE}?colormap=[[1,2,3]]", "colormap: not a colormap"),
        ("/scenes/border-a/preview.png?height=99999999999", "height: must be between 1 and"),
        (f"{stats}?histogram_bins=0", "histogram_bins: must be between 1 and 10000"),
        (f"{stats}?histogram_bins=5,3,9", "histogram_bins: edges must be finite and increasing"),
        (f"{stats}?histogram_bins=1,nan", "histogram_bins: edges must be finite and increasing"),
        (f"{stats}?histogram_bins=1,x", "histogram_bins: '1,x' is neither a bin count nor"),
        (f"{stats}?histogram_range=3.9e16,-10816", "histogram_range: must be two finite numbers"),
        (f"{stats}?histogram_range=1,inf", "histogram_range: must be two finite numbers"),
        (f"{stats}?histogram_range=1", "histogram_range: must be two finite numbers"),
        (f"{stats}?p=150", "p: percentile 150 is not between 0 and 100"),
        ("/scenes/border-a/preview.png?dst_crs=[[1,2,3]]", "dst_crs: '[[1,2,3]]' is not a CRS"),
        (
            "/scenes/border-a/point/130.6,42.4?coord_crs=nonsense",
            "coord_crs: 'nonsense' is not a CRS",
        ),
    ]
    for url, message in cases:
        r = client.get(url)
        assert r.status_code == 400, (url, r.text)
        assert r.json()["detail"].startswith(message), (url, r.text)


def test_posted_feature_with_infinite_coordinates_is_400(client: TestClient) -> None:
    body = '{"type":"Feature","properties":{},"geometry":{"type":"Point","coordinates":[1e400,1]}}'
    for url in ("/scenes/border-a/feature.tif", "/scenes/border-a/statistics"):
        r = client.post(url, content=body, headers={"content-type": "application/json"})
        assert r.status_code == 400, (url, r.text)
        assert r.json() == {"detail": "geometry: every number must be finite"}


def test_a_well_formed_colormap_still_renders(client: TestClient) -> None:
    for params in (
        {"bidx": "1", "colormap_name": "viridis"},
        {"bidx": "1", "colormap": '{"0": "#000000", "255": "#ffffff"}'},
    ):
        r = client.get(f"/scenes/border-a/{TILE}", params=params)
        assert r.status_code == 200 and r.headers["content-type"] == "image/png", (params, r.text)


def test_algorithm_params_that_are_not_an_object_are_400_not_500(client: TestClient) -> None:
    # Found by schemathesis (stateful phase): TiTiler calls the algorithm with **params.
    for params in ("null", "[1]", "5", '"max"'):
        r = client.get(
            f"/scenes/border-a/{TILE}", params={"algorithm": "max", "algorithm_params": params}
        )
        assert r.status_code == 400, params
        assert r.json()["detail"].startswith("algorithm_params: must be a JSON object")
    r = client.get(
        f"/scenes/border-a/{TILE}", params={"algorithm": "max", "algorithm_params": "{}"}
    )
    assert r.status_code == 200


@pytest.mark.parametrize("path", ["statistics", "feature.png"])
@pytest.mark.parametrize(
    "geometry",
    [
        {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]},
        {"type": "LineString", "coordinates": [[0, 0], [0, 0]]},
    ],
    ids=["polygon-far-away", "line-of-no-length"],
)
def test_a_geometry_covering_no_pixel_of_the_scene_is_400_not_nulls(
    client: TestClient, path: str, geometry: dict
) -> None:
    # Statistics of no pixel were all null (the schema says numbers) and the crop was blank (fuzz).
    feature = {"type": "Feature", "properties": None, "geometry": geometry}
    collection = {"type": "FeatureCollection", "features": [feature]}
    for body in [feature, collection] if path == "statistics" else [feature]:
        r = client.post(f"/scenes/border-a/{path}", json=body)
        assert r.status_code == 400, r.text
        assert r.json()["detail"].startswith("geometry: ")
