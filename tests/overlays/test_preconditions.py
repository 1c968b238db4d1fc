"""If-Match as RFC 9110 reads it: any tag but the current one is 412; only a broken header is 400."""

import pytest
from fastapi.testclient import TestClient

from overlays.preconditions import IfMatch, parse_if_match
from tests.overlays.conftest import AUTH, post, sighting

ITEMS = "/api/collections/observations/items"


def write(api: TestClient, method: str, fid: str, if_match: str):  # type: ignore[no-untyped-def]
    kwargs: dict = {}
    if method == "put":
        kwargs = {"json": sighting(count=9)}
    elif method == "patch":
        kwargs = {"json": {"properties": {"count": 9}}}
    return getattr(api, method)(f"{ITEMS}/{fid}", headers={**AUTH, "If-Match": if_match}, **kwargs)


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
@pytest.mark.parametrize(
    "tag",
    [
        '"stale-0"',  # well formed, never one of ours
        'W/"1"',  # weak: strong comparison never matches it
        '"7", "8"',  # a list, none current
        '""',
        '"a,b"',  # a comma inside a tag is part of it
        '"1" , W/"2"',  # "1" is stale, "2" is current but weak
    ],
)
def test_if_match_without_the_current_tag_is_412_and_changes_nothing(
    api: TestClient, method: str, tag: str
) -> None:
    fid = post(api, sighting())["id"]
    api.patch(f"{ITEMS}/{fid}", json={"properties": {"count": 5}}, headers=AUTH)  # now "2"
    r = write(api, method, fid, tag)
    assert r.status_code == 412, r.text
    assert r.json()["detail"] == (
        f"feature '{fid}' has changed: its current ETag is \"2\"; fetch it again and retry"
    )
    got = api.get(f"{ITEMS}/{fid}")
    assert (got.json()["properties"]["count"], got.headers["etag"]) == (5, '"2"')
    assert len(api.get(f"{ITEMS}/{fid}/history").json()["changes"]) == 2


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
@pytest.mark.parametrize("tag", ['"1"', '"9", "1"', 'W/"1", "1"', "*", ' "1" '])
def test_if_match_with_the_current_tag_or_star_writes(
    api: TestClient, method: str, tag: str
) -> None:
    fid = post(api, sighting())["id"]
    r = write(api, method, fid, tag)
    assert r.status_code == (204 if method == "delete" else 200), r.text
    actions = [c["action"] for c in api.get(f"{ITEMS}/{fid}/history").json()["changes"]]
    assert actions == ["create", {"put": "replace"}.get(method, method)]


@pytest.mark.parametrize("tag", ["1", "stale", '"1', "W/1", '"1";', '"1" "2"', ","])
def test_if_match_that_is_not_an_entity_tag_list_is_400(api: TestClient, tag: str) -> None:
    fid = post(api, sighting())["id"]
    for method in ("put", "patch", "delete"):
        r = write(api, method, fid, tag)
        assert r.status_code == 400, (method, tag, r.text)
        assert r.json()["detail"].startswith(
            f"If-Match: '{tag.strip()}' is not a list of entity tags"
        )
    assert api.get(f"{ITEMS}/{fid}").headers["etag"] == '"1"'


def test_if_match_on_a_missing_item_is_404(api: TestClient) -> None:
    # RFC 9110 §13.2.1: a response that would be 404 without the condition ignores it.
    for method in ("put", "patch", "delete"):
        assert write(api, method, "nope", "*").status_code == 404
        assert write(api, method, "nope", '"1"').status_code == 404


def test_parse_if_match() -> None:
    assert parse_if_match(None) is None
    assert parse_if_match(" * ") == IfMatch(any=True, strong=frozenset())
    assert parse_if_match('"a", W/"b",  "c"') == IfMatch(any=False, strong=frozenset({"a", "c"}))
    assert parse_if_match('"a",,"b",') == IfMatch(any=False, strong=frozenset({"a", "b"}))
