"""The map in a real browser (Debian's Chromium through Playwright) against a live tumen with the demo."""

from urllib.parse import parse_qs, quote

import httpx
import numpy as np
from playwright.sync_api import Browser, Locator, Page, expect
from rasterio.io import MemoryFile

from overlays.models import ObservationIn
from overlays.sqlite_store import SQLiteStore
from tests.conftest import LiveServer
from tests.web.conftest import ARTIFACTS, KEY, Watched
from tumen.settings import Settings

KHASAN_1429 = "#site=khasan&date=" + quote("2022-11-04T14:29:00+09:00")
ITEMS = "/api/collections/observations/items"


def map_pixels(watched: Watched) -> np.ndarray:
    png = watched.page.locator("#map").screenshot()
    with MemoryFile(png) as mem, mem.open() as ds:
        return ds.read()[:3].astype(int)


def open_popup(page: Page, item: Locator) -> Locator:
    """Click a list item and answer its popup once the one it replaces has faded out of the page."""
    item.click()
    expect(page.locator(".leaflet-popup")).to_have_count(1)
    return page.locator(".leaflet-popup-content")


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
    popup = open_popup(watched.page, watched.page.locator("#list li", has_text="3 wagons"))
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
    open_popup(page, page.locator("#list li", has_text="2 wagons")).locator("button.edit").click()
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
    popup = open_popup(watched.page, watched.page.locator("#list li", has_text="other").first)
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
    assert {
        "chip.tif",
        "chip.png",
        "figure.png",
        "sightings.geojson",
        "item.json",
        "SOURCES.md",
    } == set(names)


def hash_params(watched: Watched) -> dict[str, str]:
    fragment = watched.page.evaluate("() => location.hash").removeprefix("#")
    return {k: v[0] for k, v in parse_qs(fragment).items()}


def shown(watched: Watched) -> tuple[str, str, str]:
    """The scene shown (its heading), the date picked and the compare date picked."""
    heading = watched.page.locator("#scene-info h2").inner_text()
    picked = watched.page.locator("#date").input_value()
    return heading, picked, watched.page.locator("#compare").input_value()


def test_a_permalink_with_a_plain_date_opens_that_days_scene(
    server: LiveServer, watched: Watched
) -> None:
    watched.open(f"{server.url}/map/#site=tumangang&date=2023-10-05")  # 2023-10-06 is the latest
    assert shown(watched) == ("Scene tumangang-20231005", "2023-10-05T11:00:00+09:00", "")
    assert hash_params(watched)["date"] == "2023-10-05T11:00:00+09:00"
    assert watched.errors == []


def test_a_permalink_time_between_two_scenes_opens_the_earlier(
    server: LiveServer, watched: Watched
) -> None:
    # One minute before the 2023-09-29 scene (11:00 KST): the 2023-09-28 one was current.
    watched.open(f"{server.url}/map/#site=tumangang&date=" + quote("2023-09-29T10:59:00+09:00"))
    assert shown(watched)[:2] == ("Scene tumangang-20230928", "2023-09-28T11:00:00+09:00")
    assert hash_params(watched)["date"] == "2023-09-28T11:00:00+09:00"
    assert watched.errors == []


def test_a_permalink_time_without_offset_is_utc_whatever_the_browser_zone(
    server: LiveServer, browser: Browser
) -> None:
    context = browser.new_context(timezone_id="Asia/Seoul")
    try:
        watched = Watched(context.new_page())
        # 02:30 UTC is 11:30 KST, after the 2023-09-29 scene; read as Seoul time it would be before.
        watched.open(f"{server.url}/map/#site=tumangang&date=2023-09-29T02:30")
        assert shown(watched)[1] == "2023-09-29T11:00:00+09:00"
        assert hash_params(watched)["date"] == "2023-09-29T11:00:00+09:00"
        assert watched.errors == []
    finally:
        context.close()


def test_a_permalink_compare_date_is_forgiven_too(server: LiveServer, watched: Watched) -> None:
    watched.open(f"{server.url}/map/#site=tumangang&date=2023-10-06&compare=2019-09-01")
    assert shown(watched) == (
        "Scene tumangang-20231006",
        "2023-10-06T11:00:00+09:00",
        "2019-09-01T11:00:00+09:00",
    )
    assert watched.page.locator(".swipe input").is_visible()
    params = hash_params(watched)
    assert params["date"] == "2023-10-06T11:00:00+09:00"
    assert params["compare"] == "2019-09-01T11:00:00+09:00"
    assert watched.errors == []


def test_a_permalink_before_every_scene_opens_the_earliest(
    server: LiveServer, watched: Watched
) -> None:
    watched.open(f"{server.url}/map/#site=tumangang&date=2001-01-01&compare=2001-01-01")
    earliest = "2019-09-01T11:00:00+09:00"
    assert shown(watched) == ("Scene tumangang-baseline-2019", earliest, earliest)
    assert hash_params(watched)["date"] == earliest
    assert watched.errors == []


def chart_datasets(watched: Watched) -> list[dict[str, object]]:
    watched.page.wait_for_function("() => Chart.getChart(document.getElementById('activity'))")
    return watched.page.evaluate(  # type: ignore[no-any-return]
        """() => {
          const chart = Chart.getChart(document.getElementById('activity'));
          return chart.data.datasets.map((d, i) => ({
            kind: d.kind, label: d.label, line: d.type === 'line',
            shown: chart.isDatasetVisible(i),
            data: Object.fromEntries(chart.data.labels.map((l, j) => [l, d.data[j]])),
          }));
        }"""
    )


def test_activity_chart_has_a_dataset_per_kind_and_opens_on_ships_at_a_port(
    server: LiveServer, watched: Watched
) -> None:
    watched.open(f"{server.url}/map/#site=rajin")
    sets = chart_datasets(watched)
    assert [(d["kind"], d["line"], d["shown"]) for d in sets] == [
        ("container", False, False),
        ("ship", False, True),
    ]
    container, ship = sets
    # 2023-10-21: about 300 containers and no ship that day; never one bar of the two added.
    assert container["data"]["2023-10-21"] == 300 and ship["data"]["2023-10-21"] is None
    assert ship["data"]["2023-10-12"] == 1
    doc = httpx.get(
        f"{server.url}/api/collections/observations/activity", params={"site": "rajin"}
    ).json()
    expected = {s["kind"]: {p["period"]: p["count"] for p in s["points"]} for s in doc["series"]}
    assert {d["kind"]: {k: v for k, v in d["data"].items() if v is not None} for d in sets} == (
        expected
    )
    watched.page.evaluate(
        """() => {
          const chart = Chart.getChart(document.getElementById('activity'));
          chart.options.plugins.legend.onClick(null, { datasetIndex: 0 }, chart.legend);
        }"""
    )
    assert [d["shown"] for d in chart_datasets(watched)] == [True, True]
    assert watched.errors == []


def test_activity_chart_opens_on_wagons_beside_their_baseline_at_a_rail_site(
    server: LiveServer, watched: Watched
) -> None:
    watched.open(f"{server.url}/map/#site=tumangang")
    sets = chart_datasets(watched)
    shown_sets = [(d["kind"], d["line"]) for d in sets if d["shown"]]
    assert shown_sets == [("wagon", False), ("wagon", True)]
    baseline = next(d for d in sets if d["line"])
    assert set(baseline["data"].values()) == {20}  # type: ignore[union-attr]
    assert baseline["label"] == "wagon baseline (20)"
    assert {d["kind"] for d in sets} == {"wagon", "train", "cargo"}
    assert watched.errors == []


def test_a_sightings_colour_is_the_apis_colour_for_its_kind(
    server: LiveServer, watched: Watched
) -> None:
    # 2023-09-24 at Tumangang: white cargo and three trains, two kinds on one scene.
    watched.open(f"{server.url}/map/#site=tumangang&date=2023-09-24")
    scene_id = watched.page.locator("#scene-info h2").inner_text().removeprefix("Scene ")
    kinds = httpx.get(f"{server.url}/api/collections/observations").json()["kinds"]
    colour = {k["kind"]: k["colour"] for k in kinds}
    day = "2023-09-24T00:00:00+09:00/2023-09-24T23:59:59+09:00"
    doc = httpx.get(
        f"{server.url}{ITEMS}", params={"site": "tumangang", "datetime": day, "limit": 1000}
    ).json()
    drawn = [f for f in doc["features"] if f["properties"]["scene_id"] in (None, scene_id)]
    assert {f["properties"]["kind"] for f in drawn} >= {"cargo", "train"}
    strokes = watched.page.evaluate(
        "() => [...document.querySelectorAll('.leaflet-leftSightings-pane path')]"
        ".filter(p => p.getAttribute('stroke-width') === '3').map(p => p.getAttribute('stroke'))"
    )
    assert sorted(strokes) == sorted(colour[f["properties"]["kind"]] for f in drawn)
    legend = watched.page.locator(".legend div").all_inner_texts()
    assert legend == [k["label"] for k in kinds] + [
        "absent",
        "unreviewed candidate (confidence)",
        "disputed",
    ]
    options = watched.page.locator("#sighting-form [name=kind] option").all_inner_texts()
    assert options == [k["label"] for k in kinds]
    assert watched.errors == []


def test_the_url_builders_encode_every_id(server: LiveServer, watched: Watched) -> None:
    watched.open(f"{server.url}/map/#site=khasan")
    built = watched.page.evaluate(
        """async () => {
          const { urls } = await import('./src/urls.js');
          const odd = 'a b/c?d#e&f=g+h%';
          return [
            urls.calendar(odd),
            urls.siteTiles(odd, '2022-11-04T14:29:00+09:00', 'png'),
            urls.report(odd, '1,2,3,4', '2022-11-04T14:29:00+09:00'),
            urls.observations({ site: odd, limit: 10 }),
            urls.observation(odd),
            urls.activity(odd),
          ];
        }"""
    )
    odd = quote("a b/c?d#e&f=g+h%", safe="")
    assert built == [
        f"/sites/{odd}/calendar",
        f"/sites/{odd}/tiles/WebMercatorQuad/{{z}}/{{x}}/{{y}}.png?datetime="
        + quote("2022-11-04T14:29:00+09:00", safe=""),
        f"/sites/{odd}/report?bbox=1%2C2%2C3%2C4&datetime="
        + quote("2022-11-04T14:29:00+09:00", safe=""),
        f"{ITEMS}?site=a+b%2Fc%3Fd%23e%26f%3Dg%2Bh%25&limit=10",
        f"{ITEMS}/{odd}",
        "/api/collections/observations/activity?site=a+b%2Fc%3Fd%23e%26f%3Dg%2Bh%25&interval=day",
    ]


def test_a_sighting_whose_id_needs_encoding_is_edited_and_deleted_from_the_map(
    server: LiveServer, demo_settings: Settings, watched: Watched
) -> None:
    odd = "imported #1?a=b&c+d%"  # an id given at import, not made by the API
    store = SQLiteStore(demo_settings.database)
    feature = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [130.6450, 42.4275]},
        "properties": {
            "site": "khasan",
            "observed_at": "2022-11-04T14:29:00+09:00",
            "kind": "locomotive",
            "count": 7,
            "description": "an imported sighting with an awkward id",
            "sources": [{"outlet": "an import"}],
            "method": "reported",
        },
    }
    store.create(ObservationIn.model_validate(feature), actor="test", fid=odd)
    url = f"{server.url}{ITEMS}/{quote(odd, safe='')}"
    try:
        watched.open(f"{server.url}/map/{KHASAN_1429}&z=18&lat=42.4275&lon=130.6450")
        page = watched.page
        page.locator("#apikey").fill(KEY)
        page.locator("#apikey").dispatch_event("change")
        item = page.locator("#list li", has_text="7 locomotives")
        open_popup(page, item).locator("button.edit").click()
        page.locator("#sighting-form [name=count]").fill("8")
        page.locator("#save").click()
        page.locator("#messages .ok").wait_for()
        edited = httpx.get(url).json()
        assert edited["id"] == odd
        assert edited["properties"]["count"] == 8 and edited["properties"]["version"] == 2
        item = page.locator("#list li", has_text="8 locomotives")
        open_popup(page, item).locator("button.edit").click()
        page.locator("#delete").click()
        page.wait_for_function("() => document.querySelectorAll('#messages .ok').length >= 2")
        assert httpx.get(url).status_code == 404
        writes = [(m, p, s) for m, p, _, s in server.requests if m in ("PATCH", "DELETE")]
        assert writes[-2:] == [("PATCH", f"{ITEMS}/{odd}", 200), ("DELETE", f"{ITEMS}/{odd}", 204)]
        assert watched.errors == []
    finally:
        if httpx.get(url).status_code == 200:
            store.delete(odd, actor="test")


def test_a_candidate_found_by_the_analysis_is_on_the_map_as_automated_and_unreviewed(
    server: LiveServer, demo_settings: Settings, watched: Watched
) -> None:
    r = httpx.post(
        f"{server.url}/scenes/rajin-20230930/analysis", headers={"X-API-Key": KEY}, timeout=120
    )
    assert r.status_code == 200 and r.json()["ships"] == 1, r.text
    try:
        watched.open(f"{server.url}/map/#site=rajin&date=2023-09-30")
        item = watched.page.locator("#list li", has_text="ship").filter(
            has_text="(automated, unreviewed)"
        )
        text = open_popup(watched.page, item).inner_text()
        assert "automated" in text and "unreviewed" in text and "Confidence" in text
        assert "Found on a SYNTHETIC image" in text
        assert watched.errors == []
    finally:
        store = SQLiteStore(demo_settings.database)
        store.replace_automated("rajin-20230930", [], actor="test")
