"""The map's site picker follows the catalog: a site added while tumen serves is there after a reload."""

from urllib.parse import parse_qs

import pytest

from tests.conftest import LiveServer
from tests.test_sites_cli import add_vostochny, tumen
from tests.web.conftest import Watched
from tumen.settings import Settings

# HTTP, a client or load, the same on every backend: run in the SQLite pass only.
pytestmark = pytest.mark.above_storage


def picker(watched: Watched) -> dict[str, str]:
    options = watched.page.locator("#site option")
    return {
        options.nth(i).get_attribute("value") or "": options.nth(i).inner_text()
        for i in range(options.count())
    }


def test_a_site_added_while_serving_is_in_the_picker_after_a_reload(
    live_server: LiveServer, settings: Settings, watched: Watched
) -> None:
    watched.open(f"{live_server.url}/map/")
    assert "vostochny" not in picker(watched)

    r = add_vostochny(settings)
    assert r.exit_code == 0, r.output
    watched.page.reload()
    watched.page.wait_for_selector("body[data-ready=true]", timeout=30_000)
    assert picker(watched)["vostochny"] == "Vostochny port"
    assert list(picker(watched))[:4] == ["bridge", "khasan", "tumangang", "rajin"]

    # Chosen, it is the view's site (no scene there yet: the calendar is empty, not an error).
    activity = "/api/collections/observations/activity?site=vostochny"
    with watched.page.expect_response(lambda r: activity in r.url):  # the last it asks for
        watched.page.select_option("#site", "vostochny")
    watched.page.wait_for_function("location.hash.includes('site=vostochny')")
    assert watched.errors == []
    # Opened by its permalink, the map shows the site's bbox (it has no scene to fly to).
    watched.page.goto("about:blank")  # a new page load, not a hash change
    watched.open(f"{live_server.url}/map/#site=vostochny")
    assert watched.page.locator("#site").input_value() == "vostochny"
    watched.page.wait_for_function("location.hash.includes('lon=')")
    centre = parse_qs(watched.page.evaluate("location.hash.slice(1)"))
    lon, lat = float(centre["lon"][0]), float(centre["lat"][0])
    assert 133.03 < lon < 133.07 and 42.73 < lat < 42.76
    assert watched.errors == []

    assert tumen(settings, "sites", "rm", "vostochny").exit_code == 0
    watched.page.goto(f"{live_server.url}/map/")
    watched.page.wait_for_selector("body[data-ready=true]", timeout=30_000)
    assert "vostochny" not in picker(watched)


def test_without_the_bridge_the_map_opens_on_the_first_site(
    settings: Settings, watched: Watched
) -> None:
    assert tumen(settings, "sites", "rm", "bridge").exit_code == 0  # no scene covers it here
    with LiveServer(settings) as server:
        watched.open(f"{server.url}/map/")
        assert list(picker(watched)) == ["khasan", "tumangang", "rajin"]
        assert watched.page.locator("#site").input_value() == "khasan"
        assert "site=khasan" in watched.page.evaluate("location.hash")
    assert watched.errors == []
