"""The map in a real browser (Debian's Chromium through Playwright) against a live tumen with the demo."""

from urllib.parse import quote

import httpx
import numpy as np
from rasterio.io import MemoryFile

from tests.conftest import LiveServer
from tests.web.conftest import ARTIFACTS, KEY, Watched

KHASAN_1429 = "#site=khasan&date=" + quote("2022-11-04T14:29:00+09:00")
ITEMS = "/api/collections/observations/items"


def map_pixels(watched: Watched) -> np.ndarray:
    png = watched.page.locator("#map").screenshot()
    with MemoryFile(png) as mem, mem.open() as ds:
        return ds.read()[:3].astype(int)


def test_page_loads_clean_with_tiles_and_badge(server: LiveServer, watched: Watched) -> None:
    watched.open(f"{server.url}/")  # / redirects to /map/
    assert watched.page.url.startswith(f"{server.url}/map/")
    tiles = watched.page.locator(".leaflet-tile-loaded")
    assert tiles.count() > 0
    pixels = map_pixels(watched)
    assert pixels.std() > 5, "the map is blank"
    assert watched.page.locator("#badge").is_visible()
    assert "SYNTHETIC" in watched.page.locator("#badge").inner_text()
    assert (
        "tumen demo (synthetic)"
        in watched.page.locator(".leaflet-control-attribution").inner_text()
    )
    ARTIFACTS.mkdir(exist_ok=True)
    watched.page.screenshot(path=str(ARTIFACTS / "map-full-page.png"), full_page=True)
    assert watched.errors == []


def test_khasan_at_1429_shows_three_wagons_citing_38_north(
    server: LiveServer, watched: Watched
) -> None:
    watched.open(f"{server.url}/map/{KHASAN_1429}")
    assert watched.page.locator("#date").input_value() == "2022-11-04T14:29:00+09:00"
    item = watched.page.locator("#list li", has_text="3 wagons")
    item.click()
    popup = watched.page.locator(".leaflet-popup-content")
    popup.wait_for()
    text = popup.inner_text()
    assert "3 wagons" in text and "2022-11-04 14:29 (UTC+09:00)" in text
    assert "38 North" in text
    link = popup.locator("a", has_text="38 North").first
    assert link.get_attribute("href").startswith("https://www.38north.org/")
    assert "impossible to determine what the train was carrying" in text
    assert watched.errors == []


def test_swipe_compare_shows_two_different_images(server: LiveServer, watched: Watched) -> None:
    hash_ = (
        "#site=tumangang&date="
        + quote("2023-10-05T11:00:00+09:00")
        + "&compare="
        + quote("2019-09-01T11:00:00+09:00")
        + "&z=17&lat=42.42125&lon=130.6045"
    )
    watched.open(f"{server.url}/map/{hash_}")
    slider = watched.page.locator(".swipe input")
    assert slider.is_visible()
    urls = watched.page.evaluate(
        "() => [...document.querySelectorAll('.leaflet-tile-loaded')].map(t => t.src)"
    )
    assert any("2023-10-05" in u for u in urls) and any("2019-09-01" in u for u in urls)
    slider.fill("1")
    watched.page.wait_for_timeout(300)
    all_main = map_pixels(watched)
    slider.fill("0")
    watched.page.wait_for_timeout(300)
    all_compare = map_pixels(watched)
    assert np.abs(all_main - all_compare).mean() > 1
    assert watched.errors == []


def test_draw_save_edit_and_wrong_key(server: LiveServer, watched: Watched) -> None:
    watched.open(f"{server.url}/map/{KHASAN_1429}&z=17&lat=42.4281&lon=130.6453")
    before = httpx.get(f"{server.url}{ITEMS}", params={"site": "khasan"}).json()["numberMatched"]
    page = watched.page
    page.locator("#apikey").fill("wrong-key")
    page.locator("#apikey").dispatch_event("change")
    page.locator(".leaflet-pm-icon-marker").click()
    page.locator("#map").click(position={"x": 500, "y": 400})
    form = page.locator("#sighting-form")
    form.wait_for()
    form.locator("[name=kind]").select_option("wagon")
    form.locator("[name=count]").fill("2")
    form.locator("[name=description]").fill("two wagons seen in the browser test")
    page.locator("#save").click()
    page.locator("#messages .error").wait_for()
    assert "X-API-Key is missing or wrong" in page.locator("#messages .error").first.inner_text()
    page.locator("#apikey").fill(KEY)
    page.locator("#apikey").dispatch_event("change")
    page.locator("#save").click()
    page.locator("#messages .ok").wait_for()
    after = httpx.get(f"{server.url}{ITEMS}", params={"site": "khasan"}).json()
    assert after["numberMatched"] == before + 1
    mine = next(
        f
        for f in after["features"]
        if f["properties"]["description"] == "two wagons seen in the browser test"
    )
    assert mine["properties"]["count"] == 2 and mine["properties"]["version"] == 1
    page.locator("#list li", has_text="2 wagons").click()
    page.locator(".leaflet-popup-content button.edit").click()
    page.locator("#sighting-form [name=count]").fill("4")
    page.locator("#save").click()
    page.wait_for_function("() => document.querySelectorAll('#messages .ok').length >= 2")
    edited = httpx.get(f"{server.url}{ITEMS}/{mine['id']}").json()
    assert edited["properties"]["count"] == 4 and edited["properties"]["version"] == 2
    errors = [e for e in watched.errors if "403" not in e]  # the wrong key's 403 is expected
    assert errors == []


def test_user_text_is_shown_as_text_and_runs_nothing(server: LiveServer, watched: Watched) -> None:
    evil = "<img src=x onerror=alert(1)>"
    doc = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [130.6450, 42.4275]},
        "properties": {
            "site": "khasan",
            "observed_at": "2022-11-04T14:29:00+09:00",
            "kind": "other",
            "description": evil,
            "sources": [{"outlet": "<b>outlet</b>", "url": "javascript:alert(2)"}],
            "method": "manual",
        },
    }
    r = httpx.post(f"{server.url}{ITEMS}", json=doc, headers={"X-API-Key": KEY})
    assert r.status_code == 422  # a javascript: URL is not a source URL
    doc["properties"]["sources"] = [{"outlet": "<b>outlet</b>"}]
    r = httpx.post(f"{server.url}{ITEMS}", json=doc, headers={"X-API-Key": KEY})
    assert r.status_code == 201
    watched.open(f"{server.url}/map/{KHASAN_1429}&z=18&lat=42.4275&lon=130.6450")
    watched.page.locator("#list li", has_text="other").first.click()
    popup = watched.page.locator(".leaflet-popup-content")
    popup.wait_for()
    assert evil in popup.inner_text()
    assert "<b>outlet</b>" in popup.inner_text()
    assert popup.locator("img").count() == 0
    watched.page.wait_for_timeout(300)
    assert watched.dialogs == []
    httpx.delete(f"{server.url}{ITEMS}/{r.json()['id']}", headers={"X-API-Key": KEY})


def test_reload_with_the_hash_restores_the_view(server: LiveServer, watched: Watched) -> None:
    hash_ = (
        "#site=rajin&date=" + quote("2023-10-12T11:00:00+09:00") + "&z=17&lat=42.238&lon=130.298"
    )
    watched.open(f"{server.url}/map/{hash_}")
    page = watched.page
    page.locator("#date").select_option("2023-10-19T11:00:00+09:00")
    page.wait_for_function("() => location.hash.includes('2023-10-19')")
    saved = page.evaluate("() => location.hash")
    page.reload()
    page.wait_for_selector("body[data-ready=true]")
    assert page.locator("#site").input_value() == "rajin"
    assert page.locator("#date").input_value() == "2023-10-19T11:00:00+09:00"
    assert page.evaluate("() => location.hash") == saved
    assert page.evaluate("() => document.querySelector('#map') && true")
    assert "z=17" in saved and "lat=42.238" in saved


def test_measure_gives_metres(server: LiveServer, watched: Watched) -> None:
    watched.open(f"{server.url}/map/{KHASAN_1429}&z=18&lat=42.4281&lon=130.6453")
    page = watched.page
    page.locator("#measure").click()
    page.locator("#map").click(position={"x": 400, "y": 400})
    page.locator("#map").click(position={"x": 600, "y": 400})
    page.locator("#map").click(position={"x": 600, "y": 400})  # a click on the last vertex ends it
    label = page.locator(".measure-label")
    label.wait_for()
    metres = float(label.inner_text().removesuffix(" m"))
    # 200 px at z18 and 42.43° N: 200 × 0.5972 m × cos(42.43°) ≈ 88.2 m
    assert abs(metres - 88.2) < 2


def test_tracks_through_khasan_are_drawn(server: LiveServer, watched: Watched) -> None:
    watched.open(f"{server.url}/map/{KHASAN_1429}&z=14&lat=42.42&lon=130.63")
    drawn = watched.page.evaluate(
        "() => [...document.querySelectorAll('path')]"
        ".filter(p => p.getAttribute('stroke') === '#f1c40f').length"
    )
    assert drawn == 2  # ep1-train (1.1 → 1.3) and ep3-eight-cars (3.1 → 3.2) both touch Khasan
    doc = httpx.get(f"{server.url}/api/collections/tracks/items").json()
    track = next(f for f in doc["features"] if f["id"] == "ep1-train")
    assert track["properties"]["sightings"] == ["demo-1.1", "demo-1.2", "demo-1.3"]
    assert watched.errors == []


def test_download_report_button(server: LiveServer, watched: Watched) -> None:
    import zipfile

    watched.open(f"{server.url}/map/{KHASAN_1429}&z=12&lat=42.4272&lon=130.6458")
    watched.page.locator("#report").click()
    watched.page.locator("#messages .error").wait_for()
    assert "over the limit" in watched.page.locator("#messages .error").first.inner_text()
    watched.page.goto(f"{server.url}/map/{KHASAN_1429}&z=18&lat=42.4272&lon=130.6458")
    watched.page.reload()  # a new hash alone does not reload the page
    watched.page.wait_for_selector("body[data-ready=true]")
    with watched.page.expect_download() as download:
        watched.page.locator("#report").click()
    names = zipfile.ZipFile(download.value.path()).namelist()
    assert {"chip.tif", "chip.png", "sightings.geojson", "item.json", "SOURCES.md"} == set(names)
