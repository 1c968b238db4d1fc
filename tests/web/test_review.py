"""Reviewing candidates on the map (Chromium through Playwright, a live tumen with the demo).

Each test makes its own automated candidates on the Khasan scene of 2022-11-29 (one reported sighting
of its own, no analysis run) through the API, and deletes them after.
"""

from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import httpx
import pytest
from playwright.sync_api import Locator, Page, expect

from tests.conftest import LiveServer
from tests.web.conftest import ARTIFACTS, KEY, Watched
from tests.web.test_map import chart_datasets

ITEMS = "/api/collections/observations/items"
SCENE = "khasan-20221129"
WHEN = "2022-11-29T11:00:00+09:00"
KHASAN_1129 = "#site=khasan&date=" + quote(WHEN)
CANDIDATE_DASH = "10 6"  # web/src/sightings.js draws an unreviewed candidate with these dashes

Make = Callable[..., dict[str, Any]]


@pytest.fixture
def candidates(server: LiveServer) -> Iterator[Make]:
    """Makes automated candidates (a train along a track by default) on the scene; deletes them after."""
    made: list[str] = []

    def make(
        coords: list[list[float]],
        *,
        confidence: float = 0.72,
        kind: str = "train",
        count: int = 1,
    ) -> dict[str, Any]:
        doc = {
            "type": "Feature",
            "geometry": {"type": "LineString", "coordinates": coords},
            "properties": {
                "site": "khasan",
                "scene_id": SCENE,
                "observed_at": WHEN,
                "kind": kind,
                "count": count,
                "method": "automated",
                "confidence": confidence,
                "description": "a candidate made by the review test",
            },
        }
        r = httpx.post(f"{server.url}{ITEMS}", json=doc, headers={"X-API-Key": KEY})
        assert r.status_code == 201, r.text
        made.append(r.json()["id"])
        assert r.json()["properties"]["review"] == "unreviewed"
        return r.json()  # type: ignore[no-any-return]

    yield make
    for fid in made:
        httpx.delete(f"{server.url}{ITEMS}/{quote(fid, safe='')}", headers={"X-API-Key": KEY})


WEST = [[130.6430, 42.4262], [130.6446, 42.4266]]
EAST = [[130.6470, 42.4270], [130.6486, 42.4274]]


def open_scene(watched: Watched, server: LiveServer, *, z: int = 17) -> Page:
    watched.open(f"{server.url}/map/{KHASAN_1129}&z={z}&lat=42.4272&lon=130.6458")
    page = watched.page
    page.locator("#apikey").fill(KEY)
    page.locator("#apikey").dispatch_event("change")
    page.locator("#apikey").blur()  # keys typed into a field are text, not commands
    return page


def popup_of(page: Page, fid: str) -> Locator:
    """The open popup, once it is the one of sighting ``fid``."""
    popup = page.locator(f".leaflet-popup-content .popup[data-id='{fid}']")
    expect(popup).to_have_count(1)
    return popup


def item(server: LiveServer, fid: str) -> dict[str, Any]:
    return httpx.get(f"{server.url}{ITEMS}/{quote(fid, safe='')}").json()  # type: ignore[no-any-return]


def reviews_sent(server: LiveServer, fid: str) -> list[int]:
    """The statuses of the reviews of ``fid`` the server answered, in order."""
    return [s for m, p, _, s in server.requests if (m, p) == ("POST", f"{ITEMS}/{fid}/review")]


def drawn(page: Page) -> list[dict[str, str | None]]:
    """Stroke, dashes and opacity of every sighting drawn on the main date's side."""
    return page.evaluate(  # type: ignore[no-any-return]
        "() => [...document.querySelectorAll('.leaflet-leftSightings-pane path')]"
        ".filter(p => p.getAttribute('stroke-width') === '3').map(p => ({"
        "  stroke: p.getAttribute('stroke'), dash: p.getAttribute('stroke-dasharray'),"
        "  opacity: p.getAttribute('stroke-opacity')}))"
    )


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name))


def expected_errors(watched: Watched, *statuses: int) -> list[str]:
    """The page's errors but those of the refusals a test provokes (the browser logs each)."""
    return [
        e
        for e in watched.errors
        if not any(f"HTTP {s}" in e or f"status of {s}" in e for s in statuses)
    ]


def test_an_unreviewed_candidate_is_dashed_with_its_confidence(
    server: LiveServer, watched: Watched, candidates: Make
) -> None:
    mine = candidates(WEST, confidence=0.72)
    page = open_scene(watched, server)
    strokes = drawn(page)
    dashed = [s for s in strokes if s["dash"] == CANDIDATE_DASH]
    assert len(dashed) == 1, strokes  # the candidate; the reported 8 wagons are drawn whole
    assert any(s["dash"] is None for s in strokes)
    expect(page.locator(".leaflet-leftSightings-pane .confidence-tip")).to_have_text(["72 %"])
    shot(page, "map-review-label.png")
    listed = page.locator("#list li", has_text="(automated, unreviewed)")
    expect(listed).to_have_text(
        ["2022-11-29 11:00 (UTC+09:00) — 1 train · 72 % (automated, unreviewed)"]
    )
    listed.click()
    popup = popup_of(page, mine["id"])
    expect(popup.locator(".review dd").first).to_have_text("unreviewed")
    expect(popup.locator("button.confirm")).to_be_enabled()
    expect(popup.locator("button.dispute")).to_be_enabled()
    assert "72 %" in popup.locator("h3").inner_text()
    shot(page, "map-review-unreviewed.png")
    assert watched.errors == []


def test_confirm_with_the_keyboard_restyles_in_place(
    server: LiveServer, watched: Watched, candidates: Make
) -> None:
    mine = candidates(WEST)
    page = open_scene(watched, server)
    loads = len([r for r in server.requests if r[1] == ITEMS])
    page.keyboard.press("n")
    popup = popup_of(page, mine["id"])
    page.keyboard.press("c")
    expect(popup.locator(".review")).to_have_attribute("data-review", "confirmed")
    stored = item(server, mine["id"])["properties"]
    assert stored["review"] == "confirmed" and stored["reviewed_at"]
    assert stored["version"] == mine["properties"]["version"] + 1
    assert reviews_sent(server, mine["id"]) == [200]
    # Restyled without a reload: drawn whole, no confidence label, listed as confirmed.
    assert [s["dash"] for s in drawn(page)].count(CANDIDATE_DASH) == 0
    expect(page.locator(".confidence-tip")).to_have_count(0)
    expect(page.locator("#list li", has_text="(automated, confirmed)")).to_have_count(1)
    expect(popup.locator("button.confirm")).to_be_disabled()
    assert "At" in popup.inner_text() and "UTC" in popup.inner_text()
    assert len([r for r in server.requests if r[1] == ITEMS]) == loads
    shot(page, "map-review-confirmed.png")
    assert watched.errors == []


def test_dispute_with_a_reason_and_the_history_shows_both_reviews(
    server: LiveServer, watched: Watched, candidates: Make
) -> None:
    mine = candidates(WEST)
    page = open_scene(watched, server)
    page.locator("#reviewer").fill("analyst")
    page.keyboard.type(" n")  # typed into the name field: text, not a command
    expect(page.locator(".leaflet-popup")).to_have_count(0)
    page.locator("#reviewer").blur()  # the name is kept on change
    page.keyboard.press("n")
    popup = popup_of(page, mine["id"])
    page.keyboard.press("c")
    expect(popup.locator(".review")).to_have_attribute("data-review", "confirmed")

    page.keyboard.press("d")
    reason = popup.locator("form.reason input")
    expect(reason).to_be_focused()
    page.keyboard.press("Enter")  # no reason: refused here, nothing sent
    expect(popup.locator(".notice")).to_contain_text("needs a reason")
    assert item(server, mine["id"])["properties"]["review"] == "confirmed"
    note = "a shadow of the canopy, not a train; see the noon scene"  # n, c and d typed as text
    page.keyboard.type(note)
    assert reason.input_value() == note
    page.keyboard.press("Enter")
    expect(popup.locator(".review")).to_have_attribute("data-review", "disputed")
    stored = item(server, mine["id"])["properties"]
    assert (stored["review"], stored["review_note"]) == ("disputed", note)
    assert stored["reviewed_by"] == "analyst n"
    assert [s["opacity"] for s in drawn(page) if s["opacity"] != "1"] == ["0.35"]
    expect(page.locator("#list li.review-disputed")).to_contain_text("(automated, disputed)")

    popup.locator("button.history-toggle").click()
    reviews = popup.locator(".history li[data-action=review]")
    expect(reviews).to_have_count(2)
    assert "review: confirmed · " in reviews.nth(0).inner_text()
    assert "review: disputed · " in reviews.nth(1).inner_text()
    expect(reviews.nth(1).locator("q")).to_have_text(note)
    shot(page, "map-review-history.png")
    history = httpx.get(f"{server.url}{ITEMS}/{mine['id']}/history").json()["changes"]
    assert [c["action"] for c in history].count("review") == 2
    assert watched.errors == []


def test_a_stale_version_shows_the_conflict_and_overwrites_nothing(
    server: LiveServer, watched: Watched, candidates: Make
) -> None:
    mine = candidates(WEST)
    url = f"{server.url}{ITEMS}/{mine['id']}"
    page = open_scene(watched, server)
    page.keyboard.press("n")
    popup = popup_of(page, mine["id"])
    # Someone else edits it behind the page's back: version 1 → 2.
    changed = "re-measured by a colleague"
    r = httpx.patch(
        url,
        json={"properties": {"description": changed}},
        headers={"X-API-Key": KEY, "If-Match": '"1"', "Content-Type": "application/json"},
    )
    assert r.status_code == 200 and r.json()["properties"]["version"] == 2
    page.keyboard.press("c")
    expect(popup.locator(".notice")).to_contain_text("Someone changed this sighting")
    expect(page.locator("#messages .error").first).to_contain_text("nothing was saved")
    stored = item(server, mine["id"])["properties"]
    assert (stored["review"], stored["description"], stored["version"]) == (
        "unreviewed",
        changed,
        2,
    )
    assert reviews_sent(server, mine["id"]) == [412]
    # The page reloaded the sighting: it shows the change, and a review now goes through.
    expect(popup.locator(".description")).to_have_text(changed)
    page.keyboard.press("c")
    expect(popup.locator(".review")).to_have_attribute("data-review", "confirmed")
    stored = item(server, mine["id"])["properties"]
    assert (stored["review"], stored["description"], stored["version"]) == ("confirmed", changed, 3)
    assert expected_errors(watched, 412) == []


def test_a_review_without_the_key_asks_for_it_and_saves_nothing(
    server: LiveServer, watched: Watched, candidates: Make
) -> None:
    mine = candidates(WEST)
    watched.open(f"{server.url}/map/{KHASAN_1129}&z=17&lat=42.4272&lon=130.6458")
    page = watched.page
    page.keyboard.press("n")
    popup = popup_of(page, mine["id"])
    page.keyboard.press("c")
    expect(page.locator("#messages .error").first).to_contain_text("needs the API key")
    expect(page.locator("#apikey")).to_be_focused()
    assert reviews_sent(server, mine["id"]) == [403]
    assert item(server, mine["id"])["properties"]["review"] == "unreviewed"
    expect(popup.locator(".review")).to_have_attribute("data-review", "unreviewed")
    page.keyboard.type(KEY)  # into the key field: text, not commands
    page.locator("#apikey").blur()
    popup.locator("button.confirm").click()
    expect(popup.locator(".review")).to_have_attribute("data-review", "confirmed")
    assert reviews_sent(server, mine["id"]) == [403, 200]
    assert expected_errors(watched, 403) == []


def test_next_unreviewed_walks_each_candidate_then_says_none_left(
    server: LiveServer, watched: Watched, candidates: Make
) -> None:
    ids = {candidates(WEST)["id"], candidates(EAST, confidence=0.41)["id"]}
    page = open_scene(watched, server, z=15)
    status = page.locator("#review-status")
    expect(status).to_have_text("2 unreviewed candidates on this scene")
    button = page.locator("#next-unreviewed")
    walked = []
    for left in (1, 0):
        button.click()  # a button press, then the keyboard: c works with the focus on the button
        popup = page.locator(".leaflet-popup-content .popup")
        expect(popup).to_have_count(1)
        walked.append(popup.get_attribute("data-id"))
        page.keyboard.press("c")
        expect(popup.locator(".review")).to_have_attribute("data-review", "confirmed")
        expect(status).to_contain_text(str(left) if left else "No unreviewed")
    assert set(walked) == ids
    zoom = parse_qs(page.evaluate("() => location.hash").removeprefix("#"))["z"][0]
    assert int(zoom) >= 17  # zoomed in on each (the map opened at 15)
    page.keyboard.press("n")
    expect(status).to_have_text("No unreviewed candidates left on this scene.")
    assert watched.errors == []


def test_the_figure_button_opens_the_view_clipped_to_the_scene(
    server: LiveServer, watched: Watched
) -> None:
    scene = next(
        s
        for s in httpx.get(f"{server.url}/sites/khasan/calendar").json()["scenes"]
        if s["id"] == SCENE
    )
    w, s, e, n = scene["bbox"]

    def figure_url(z: int, lat: float, lon: float) -> tuple[str, dict[str, str], list[float]]:
        watched.page.goto("about:blank")  # a new page load, not a hash change
        watched.open(f"{server.url}/map/{KHASAN_1129}&z={z}&lat={lat}&lon={lon}")
        with watched.page.context.expect_page() as opened:
            watched.page.locator("#figure").click()
        tab = opened.value
        tab.wait_for_load_state()
        parts = urlsplit(tab.url)
        answered = [
            r for m, p, q, r in server.requests if (m, p, q) == ("GET", parts.path, parts.query)
        ]
        assert answered == [
            200
        ]  # the new tab got the figure (a PNG, tests/publish say what is in it)
        tab.close()
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        return parts.path, query, [float(v) for v in query["bbox"].split(",")]

    # Zoomed out, the view holds the whole scene: the bbox is the scene's.
    path, query, bbox = figure_url(13, (s + n) / 2, (w + e) / 2)
    assert path == "/sites/khasan/figure.png"
    assert query["datetime"] == WHEN
    assert bbox == pytest.approx([w, s, e, n], abs=1e-6)
    # Zoomed in, it is the view: centred where the map is, as wide as the map at that zoom.
    path, query, bbox = figure_url(18, 42.4272, 130.6458)
    width_px = watched.page.locator("#map").bounding_box()["width"]  # type: ignore[index]
    assert (bbox[0] + bbox[2]) / 2 == pytest.approx(130.6458, abs=2e-5)
    assert (bbox[1] + bbox[3]) / 2 == pytest.approx(42.4272, abs=2e-5)
    assert bbox[2] - bbox[0] == pytest.approx(width_px * 360 / (256 * 2**18), rel=0.01)
    assert w < bbox[0] < bbox[2] < e and s < bbox[1] < bbox[3] < n


def test_the_activity_chart_shows_candidates_apart_until_confirmed(
    server: LiveServer, watched: Watched, candidates: Make
) -> None:
    mine = candidates(WEST, kind="wagon", count=12)
    page = open_scene(watched, server)

    def wagons() -> dict[str, object]:
        sets = chart_datasets(watched)
        return {d["label"]: d["data"]["2022-11-29"] for d in sets if d["kind"] == "wagon"}  # type: ignore[index]

    # The 8 reported wagons are counted; the candidate's 12 stand beside them, not added in.
    assert wagons() == {"wagon": 8, "wagon (unreviewed candidates)": 12}
    page.keyboard.press("n")
    popup = popup_of(page, mine["id"])
    page.keyboard.press("c")
    expect(popup.locator(".review")).to_have_attribute("data-review", "confirmed")
    page.wait_for_function(
        "() => Chart.getChart(document.getElementById('activity')).data.datasets"
        ".every(d => !d.label.includes('unreviewed'))"
    )
    assert wagons() == {"wagon": 20}
    assert watched.errors == []
