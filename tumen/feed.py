"""What is new, as Atom 1.0 feeds: new scenes, new automated candidates, reviews.

``GET /feed.atom`` (every site) and ``GET /sites/{site}/feed.atom`` let an analyst's feed reader say
that an image of a site has arrived, that the analysis found candidates on it, or that a colleague
confirmed or disputed one; each entry links to the map at that site and date. Scenes come from the
catalog (``registered_at``); candidates and reviews from the sightings' history
(``ObservationStore.recent_changes``). The XML is written with ElementTree, so every text a person
typed (a dispute's reason, a reviewer's name) is escaped.
"""

import hashlib
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from overlays.dependencies import get_store
from overlays.kinds import KIND_STYLES
from overlays.store import Change, ObservationStore
from tiles.catalog import Catalog, Scene
from tiles.dependencies import get_catalog, get_sites, known_site
from tiles.sites import Site
from tiles.stac import SYNTHETIC_NOTE
from tumen import __version__

ATOM = "http://www.w3.org/2005/Atom"
MEDIA_TYPE = "application/atom+xml"
# History lines read per feed entry: an analysis run writes one line per candidate.
HISTORY_PER_ENTRY = 40
# The date part of every tag: URI (RFC 4151): when the ids were first minted.
TAG_DATE = "2024"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

ET.register_namespace("", ATOM)


@dataclass(frozen=True)
class Link:
    """An Atom link: where, what relation, which media type."""

    href: str
    rel: str
    type: str | None = None
    title: str | None = None


@dataclass(frozen=True)
class Entry:
    """One thing that happened, as a feed entry."""

    id: str
    title: str
    updated: datetime
    author: str
    summary: str
    links: tuple[Link, ...]
    categories: tuple[str, ...] = ()


@dataclass(frozen=True)
class FeedUrls:
    """Absolute links of one request (tumen.forwarded has applied the proxy's scheme, host, prefix)."""

    request: Request

    def map_at(self, site: str, when: datetime) -> str:
        """The map opened at a site and a time (web/src/state.js reads the hash)."""
        base = str(self.request.url_for("map", path="/"))
        return f"{base}#{urlencode({'site': site, 'date': when.isoformat()})}"

    def scene(self, scene_id: str) -> str:
        """The scene's STAC Item."""
        return str(self.request.url_for("get_scene", scene_id=scene_id))

    def sighting(self, fid: str) -> str:
        """The sighting in the OGC API – Features."""
        return str(self.request.url_for("features:item", cid="observations", fid=fid))

    def sighting_history(self, fid: str) -> str:
        """Every change of the sighting."""
        return f"{self.sighting(fid)}/history"


@dataclass(frozen=True)
class Tags:
    """Stable entry ids: tag: URIs (RFC 4151) under the deployment's authority."""

    authority: str

    def __call__(self, *parts: str) -> str:
        """tag:AUTHORITY,DATE:a/b/c."""
        return f"tag:{self.authority},{TAG_DATE}:{'/'.join(parts)}"


# --- what to say --------------------------------------------------------------------------------
def _n(n: int, singular: str, plural: str) -> str:
    return f"{n:,} {singular if n == 1 else plural}"


def counts_phrase(props: Sequence[Mapping[str, Any]]) -> str:
    """'5 trains (~73 wagons), 2 ships, 6 cargo areas (17,814 m²)': per kind, never summed across kinds."""
    parts = []
    for style in KIND_STYLES:
        these = [p for p in props if p.get("kind") == style.kind]
        if not these:
            continue
        if style.kind == "cargo":
            area = sum(p.get("area_m2") or 0.0 for p in these)
            text = _n(len(these), "cargo area", "cargo areas")
            parts.append(f"{text} ({area:,.0f} m²)" if area else text)
        elif style.kind == "train":
            text = _n(len(these), style.label, style.plural)
            counted = [p for p in these if p.get("count") is not None]
            if counted:
                approx = "~" if any(p.get("count_approx") for p in counted) else ""
                wagons = sum(p["count"] for p in counted)
                text += f" ({approx}{wagons:,} {'wagon' if wagons == 1 else 'wagons'})"
            parts.append(text)
        else:
            # A count says how many things one sighting holds (3 wagons); without one it is one.
            total = sum(int(p["count"]) if p.get("count") is not None else 1 for p in these)
            approx = "~" if any(p.get("count_approx") for p in these) else ""
            parts.append(approx + _n(total, style.label, style.plural))
    return ", ".join(parts) or "nothing"


def _site_name(sites: Mapping[str, Site], site: str) -> str:
    return sites[site].name if site in sites else site


def _day(when: datetime) -> str:
    """The date as the scene gives it (its own offset)."""
    return when.date().isoformat()


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _synthetic(scene_id: str | None, scenes: Mapping[str, Scene]) -> bool:
    scene = scenes.get(scene_id or "")
    return scene is not None and scene.synthetic


def scene_entries(
    scenes: Iterable[Scene], sites: Mapping[str, Site], only: str | None, urls: FeedUrls, tag: Tags
) -> list[Entry]:
    """One entry per registered scene: 'New image of Tumangang rail facility: 2023-10-05'."""
    entries = []
    for scene in scenes:
        covered = [only] if only else scene.sites
        if not covered:
            continue
        names = ", ".join(_site_name(sites, s) for s in covered)
        title = f"New image of {names}: {_day(scene.datetime)}"
        summary = (
            f"Image taken {scene.datetime.isoformat()} ({scene.gsd:g} m per pixel), registered "
            f"{scene.registered_at.astimezone(UTC).isoformat(timespec='seconds')}. "
            f"Imagery: {scene.provider} ({scene.licence})."
        )
        categories: tuple[str, ...] = ("scene",)
        if scene.synthetic:
            title += " (synthetic)"
            summary += f" {SYNTHETIC_NOTE}."
            categories += ("synthetic",)
        links = [
            Link(urls.map_at(covered[0], scene.datetime), "alternate", "text/html", "map"),
            *(
                Link(urls.map_at(s, scene.datetime), "related", "text/html", f"map of {s}")
                for s in covered[1:]
            ),
            Link(urls.scene(scene.id), "related", "application/geo+json", "STAC Item"),
        ]
        entries.append(
            Entry(
                id=tag("scene", scene.id),
                title=title,
                updated=scene.registered_at,
                author=scene.provider,
                summary=summary,
                links=tuple(links),
                categories=categories,
            )
        )
    return entries


@dataclass
class Run:
    """The candidates one analysis run created on one scene: contiguous history lines."""

    scene_id: str
    actor: str
    changes: list[Change] = field(default_factory=list)  # newest first

    def props(self, site: str | None = None) -> list[dict[str, Any]]:
        """The candidates' properties, of one site or all."""
        out = [c.after["properties"] for c in self.changes if c.after]
        return [p for p in out if site is None or p.get("site") == site]


def analysis_runs(changes: Sequence[Change], complete: bool) -> list[Run]:
    """Automated 'create' lines grouped into runs, newest first.

    A run writes its candidates in one transaction, so their lines follow one another (the lines of
    the scene's earlier candidates it deletes come before them). When ``changes`` may have been cut
    short (``complete`` false), the oldest run may be missing lines and is left out.
    """
    runs: list[Run] = []
    previous: Change | None = None
    for change in changes:  # newest first
        props = (change.after or {}).get("properties") or {}
        if change.action != "create" or props.get("method") != "automated":
            previous = None
            continue
        scene_id = props.get("scene_id") or ""
        same = (
            previous is not None
            and bool(runs)
            and previous.seq == change.seq + 1
            and runs[-1].scene_id == scene_id
            and runs[-1].actor == change.actor
        )
        if not same:
            runs.append(Run(scene_id, change.actor))
        runs[-1].changes.append(change)
        previous = change
    if not complete and runs and changes and runs[-1].changes[-1] is changes[-1]:
        runs.pop()
    return runs


def run_entries(
    runs: Iterable[Run],
    scenes: Mapping[str, Scene],
    sites: Mapping[str, Site],
    only: str | None,
    urls: FeedUrls,
    tag: Tags,
) -> list[Entry]:
    """One entry per analysis run (of one site in a site's feed): the candidates' counts per kind."""
    entries = []
    for run in runs:
        found = run.props(only)
        if not found:
            continue
        per_site: dict[str, list[dict[str, Any]]] = {}
        for p in found:
            per_site.setdefault(p["site"], []).append(p)
        order = {s: n for n, s in enumerate(sites)}  # the catalog's order, as /sites lists them
        per_site = dict(sorted(per_site.items(), key=lambda kv: order.get(kv[0], len(order))))
        taken = _parse(found[0]["observed_at"])
        names = ", ".join(_site_name(sites, s) for s in per_site)
        title = f"New candidates at {names}: {counts_phrase(found)} ({_day(taken)})"
        lines = [f"{_site_name(sites, s)}: {counts_phrase(ps)}." for s, ps in per_site.items()]
        first = run.changes[-1]
        summary = (
            " ".join(lines) + f" Found by the automated analysis of scene {run.scene_id} (taken "
            f"{taken.isoformat()}), run {first.at} by {run.actor}. Unreviewed candidates: "
            "confirm or dispute them on the map."
        )
        categories: tuple[str, ...] = ("candidates",)
        if _synthetic(run.scene_id, scenes):
            title += " (synthetic)"
            summary += f" The scene is a {SYNTHETIC_NOTE}."
            categories += ("synthetic",)
        site_ids = list(per_site)
        links = [
            Link(urls.map_at(site_ids[0], taken), "alternate", "text/html", "map"),
            *(
                Link(urls.map_at(s, taken), "related", "text/html", f"map of {s}")
                for s in site_ids[1:]
            ),
            Link(urls.scene(run.scene_id), "related", "application/geo+json", "STAC Item"),
        ]
        parts = ["analysis", run.scene_id, str(first.seq)] + ([only] if only else [])
        entries.append(
            Entry(
                id=tag(*parts),
                title=title,
                updated=_parse(run.changes[0].at),
                author=run.actor,
                summary=summary,
                links=tuple(links),
                categories=categories,
            )
        )
    return entries


VERDICTS = {"confirmed": "Confirmed", "disputed": "Disputed", "unreviewed": "Back to unreviewed"}


def review_entries(
    changes: Iterable[Change],
    scenes: Mapping[str, Scene],
    sites: Mapping[str, Site],
    only: str | None,
    urls: FeedUrls,
    tag: Tags,
) -> list[Entry]:
    """One entry per review: 'Confirmed: 1 train (12 wagons) at Tumangang rail facility, 2023-10-05'."""
    entries = []
    for change in changes:
        if change.action != "review" or not change.after:
            continue
        props = change.after["properties"]
        site = props.get("site", "")
        if only is not None and site != only:
            continue
        state = props.get("review") or "unreviewed"
        seen = _parse(props["observed_at"])
        what = counts_phrase([props]) + (" (absent)" if props.get("status") == "absent" else "")
        title = f"{VERDICTS.get(state, state)}: {what} at {_site_name(sites, site)}, {_day(seen)}"
        note = (props.get("review_note") or "").strip()
        if note:
            title += f" — {note}"
        who = props.get("reviewed_by") or change.actor
        summary = (
            f"{who} marked sighting {change.feature_id} ({props.get('method', 'manual')}, "
            f"{what}, seen {seen.isoformat()}) {state}" + (f": {note}" if note else "") + "."
        )
        categories: tuple[str, ...] = ("review", state)
        if _synthetic(props.get("scene_id"), scenes):
            title += " (synthetic image)"
            summary += f" It was seen on a {SYNTHETIC_NOTE}."
            categories += ("synthetic",)
        links = (
            Link(urls.map_at(site, seen), "alternate", "text/html", "map"),
            Link(urls.sighting(change.feature_id), "related", "application/geo+json", "sighting"),
            Link(
                urls.sighting_history(change.feature_id), "related", "application/json", "history"
            ),
        )
        entries.append(
            Entry(
                id=tag("review", change.feature_id, str(change.version)),
                title=title,
                updated=_parse(change.at),
                author=who,
                summary=summary,
                links=links,
                categories=categories,
            )
        )
    return entries


def newest(entries: Iterable[Entry], limit: int) -> list[Entry]:
    """The ``limit`` newest entries, newest first (ties in id order, so the document is stable)."""
    return sorted(entries, key=lambda e: (e.updated, e.id), reverse=True)[:limit]


def collect(
    catalog: Catalog,
    store: ObservationStore,
    sites: Mapping[str, Site],
    only: str | None,
    urls: FeedUrls,
    tag: Tags,
    limit: int,
) -> list[Entry]:
    """Every kind of news of one site (or all), the ``limit`` newest."""
    scene_list = catalog.list(only)
    scenes = {s.id: s for s in (catalog.list() if only else scene_list)}
    fetch = limit * HISTORY_PER_ENTRY
    changes = store.recent_changes(limit=fetch, actions=("create", "review"))
    runs = analysis_runs(changes, complete=len(changes) < fetch)
    entries = [
        *scene_entries(scene_list, sites, only, urls, tag),
        *run_entries(runs, scenes, sites, only, urls, tag),
        *review_entries(changes, scenes, sites, only, urls, tag),
    ]
    return newest(entries, limit)


# --- the document -------------------------------------------------------------------------------
def _stamp(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _sub(parent: ET.Element, name: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ATOM}}}{name}", attrs)
    if text is not None:
        element.text = text
    return element


def _link(parent: ET.Element, link: Link) -> None:
    attrs = {"href": link.href, "rel": link.rel}
    if link.type:
        attrs["type"] = link.type
    if link.title:
        attrs["title"] = link.title
    _sub(parent, "link", **attrs)


def atom_document(
    feed_id: str, title: str, links: Sequence[Link], entries: Sequence[Entry]
) -> bytes:
    """The feed as Atom 1.0 XML; ``updated`` is the newest entry's (the epoch when there is none)."""
    feed = ET.Element(f"{{{ATOM}}}feed")
    _sub(feed, "id", feed_id)
    _sub(feed, "title", title)
    _sub(feed, "updated", _stamp(max((e.updated for e in entries), default=EPOCH)))
    author = _sub(feed, "author")
    _sub(author, "name", "tumen")
    _sub(feed, "generator", "tumen", version=__version__)
    for link in links:
        _link(feed, link)
    for e in entries:
        entry = _sub(feed, "entry")
        _sub(entry, "id", e.id)
        _sub(entry, "title", e.title, type="text")
        _sub(entry, "updated", _stamp(e.updated))
        _sub(_sub(entry, "author"), "name", e.author or "tumen")
        for term in e.categories:
            _sub(entry, "category", term=term)
        for link in e.links:
            _link(entry, link)
        _sub(entry, "summary", e.summary, type="text")
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)


def _etag(body: bytes) -> str:
    return f'"{hashlib.sha256(body).hexdigest()[:32]}"'


def _not_modified(request: Request, etag: str) -> bool:
    """If-None-Match holds the feed's ETag (compared weakly, as RFC 9110 says for this header)."""
    header = request.headers.get("if-none-match")
    if header is None:
        return False
    tags = {t.strip().removeprefix("W/") for t in header.split(",")}
    return "*" in tags or etag in tags


def feed_response(request: Request, body: bytes) -> Response:
    """The document with its ETag, or 304 when the reader already has it."""
    etag = _etag(body)
    headers = {"ETag": etag, "Cache-Control": "public, max-age=60"}
    if _not_modified(request, etag):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=MEDIA_TYPE, headers=headers)


FEED_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {MEDIA_TYPE: {}},
        "description": "The feed, newest entry first.",
        "headers": {
            "ETag": {
                "description": "The document's version: send it as If-None-Match to get a 304.",
                "schema": {"type": "string"},
            }
        },
    },
    304: {"description": "Not Modified: If-None-Match holds the feed's current ETag (no body)."},
}


def feed_router(max_entries: int, authority: str) -> APIRouter:
    """GET /feed.atom and GET /sites/{site_id}/feed.atom, of at most ``max_entries`` entries."""
    router = APIRouter(tags=["Feeds"])
    tag = Tags(authority)

    @router.get("/feed.atom", response_class=Response, responses=FEED_RESPONSES)
    def feed(
        request: Request,
        catalog: Annotated[Catalog, Depends(get_catalog)],
        store: Annotated[ObservationStore, Depends(get_store)],
        sites: Annotated[Mapping[str, Site], Depends(get_sites)],
    ) -> Response:
        """What is new at every site: new images, new automated candidates, reviews."""
        urls = FeedUrls(request)
        entries = collect(catalog, store, sites, None, urls, tag, max_entries)
        links = (
            Link(str(request.url), "self", MEDIA_TYPE),
            Link(str(request.url_for("map", path="/")), "alternate", "text/html"),
        )
        body = atom_document(tag("feed"), "tumen: what is new", links, entries)
        return feed_response(request, body)

    @router.get(
        "/sites/{site_id}/feed.atom",
        response_class=Response,
        responses={
            **FEED_RESPONSES,
            404: {"description": "The site is unknown."},
        },
    )
    def site_feed(
        request: Request,
        site: Annotated[Site, Depends(known_site)],
        catalog: Annotated[Catalog, Depends(get_catalog)],
        store: Annotated[ObservationStore, Depends(get_store)],
        sites: Annotated[Mapping[str, Site], Depends(get_sites)],
    ) -> Response:
        """What is new at one site: new images of it, candidates found there, their reviews."""
        urls = FeedUrls(request)
        entries = collect(catalog, store, sites, site.id, urls, tag, max_entries)
        map_url = str(request.url_for("map", path="/")) + "#" + urlencode({"site": site.id})
        links = (
            Link(str(request.url), "self", MEDIA_TYPE),
            Link(map_url, "alternate", "text/html"),
        )
        body = atom_document(
            tag("feed", site.id), f"tumen: what is new at {site.name}", links, entries
        )
        return feed_response(request, body)

    return router
