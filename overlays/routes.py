"""OGC API – Features (Part 1 core, Part 3 queryables, Part 4 writes) at /api, as a route factory.

``FeaturesAPI`` registers one named route per endpoint; every link is made with ``url_for`` (the
public root, X-Forwarded-* included, is applied once by tumen.forwarded). Collections are objects
(overlays.collections) that apply the whole query; the writes come from overlays.writes.
"""

from dataclasses import dataclass, field
from datetime import UTC
from datetime import datetime as dt
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse, Response

from overlays.activity import Activity, Interval, activity_by_kind
from overlays.api import GEOJSON, GEOJSON_OR_HTML, JSON_OR_HTML, READ_ERRORS, etag, respond
from overlays.collections import (
    COLLECTIONS,
    EVERYTHING,
    Collection,
    Observations,
    Scenes,
    Sites,
    Tracks,
)
from overlays.dependencies import SiteLookup, get_scene_index, get_store, items_query
from overlays.errors import CollectionNotFound, InvalidQuery
from overlays.kinds import kinds_doc
from overlays.models import KINDS, ObservationProps, Review
from overlays.params import parse_datetime, parse_kind
from overlays.scenes import SceneIndex
from overlays.sites import SiteIndex, SiteInfo
from overlays.store import ObservationStore
from overlays.store import Query as StoreQuery
from overlays.writes import WriteRoutes

CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/create-replace-delete",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/update",
]
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
CollectionId = Annotated[str, Path(description=f"One of: {', '.join(COLLECTIONS)}.")]


def link(href: Any, rel: str, media: str, title: str | None = None) -> dict[str, str]:
    """One OGC API link."""
    out = {"rel": rel, "href": str(href), "type": media}
    return out | ({"title": title} if title else {})


@dataclass
class FeaturesAPI(WriteRoutes):
    """The /api routes over the store, the site index and the scene index."""

    api_key: str | None = None
    write_rate: int = 0  # writes per minute per API key; 0: no limit
    router: APIRouter = field(
        default_factory=lambda: APIRouter(
            prefix="/api", tags=["OGC API – Features"], responses=READ_ERRORS
        )
    )

    def __post_init__(self) -> None:
        self.collection = self._collection_dependency()
        self.landing()
        self.conformance()
        self.collections()
        self.activity()  # before the {collectionId} routes it would otherwise look like
        self.one_collection()
        self.queryables()
        self.options()
        self.items()
        self.item()
        self.register_write_routes()

    def _collection_dependency(self) -> Any:
        def collection(
            cid: CollectionId,
            store: Annotated[ObservationStore, Depends(get_store)],
            scenes: Annotated[SceneIndex, Depends(get_scene_index)],
            sites: SiteLookup,
        ) -> Collection:
            """The collection the path names (404 otherwise)."""
            if cid == "observations":
                return Observations(store, scenes)
            if cid == "tracks":
                return Tracks(store)
            if cid == "scenes":
                return Scenes(scenes)
            if cid == "sites":
                return Sites(sites)
            raise CollectionNotFound(cid, list(COLLECTIONS))

        return collection

    @staticmethod
    def known_site(sites: SiteIndex, site: str) -> SiteInfo:
        """The site a query names; an unknown one is a 400 naming the known ones."""
        info = sites.get(site)
        if info is None:
            known = ", ".join(s.id for s in sites.all())
            raise InvalidQuery(f"site: unknown site '{site}'; known: {known}")
        return info

    def collection_doc(self, request: Request, c: Collection, sites: SiteIndex) -> dict[str, Any]:
        """A collection's metadata, with its links and extent (that of the sites; the world without)."""
        boxes = [s.bbox for s in sites.all()] or [(-180.0, -90.0, 180.0, 90.0)]
        url = request.url_for
        doc: dict[str, Any] = {
            "id": c.id,
            "title": c.id,
            "description": c.description,
            "itemType": "feature",
            "crs": [CRS84],
            "links": [
                link(url("features:collection", cid=c.id), "self", "application/json"),
                link(url("features:items", cid=c.id), "items", GEOJSON),
                link(
                    url("features:queryables", cid=c.id),
                    "http://www.opengis.net/def/rel/ogc/1.0/queryables",
                    "application/schema+json",
                ),
            ],
            "extent": {
                "spatial": {
                    "bbox": [
                        [
                            min(b[0] for b in boxes),
                            min(b[1] for b in boxes),
                            max(b[2] for b in boxes),
                            max(b[3] for b in boxes),
                        ]
                    ],
                    "crs": CRS84,
                },
                "temporal": {
                    "interval": [[None, None]],
                    "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian",
                },
            },
        }
        if c.id == "observations":
            doc["kinds"] = kinds_doc()  # label, plural and colour per kind: what the map shows
        return doc

    def landing(self) -> None:
        """GET /api."""

        @self.router.get(
            "", name="features:landing", summary="Landing page", responses=JSON_OR_HTML
        )
        def landing(request: Request, f: str | None = None) -> Response:
            url = request.url_for
            doc = {
                "title": "tumen sightings",
                "description": "Sightings of rail and sea traffic at the DPRK–Russia border, "
                "with sources.",
                "links": [
                    link(url("features:landing"), "self", "application/json", "this document"),
                    link(
                        url("openapi"),
                        "service-desc",
                        "application/vnd.oai.openapi+json;version=3.1",
                        "the API definition",
                    ),
                    link(
                        url("swagger_ui_html"), "service-doc", "text/html", "the API documentation"
                    ),
                    link(
                        url("features:conformance"),
                        "conformance",
                        "application/json",
                        "conformance classes",
                    ),
                    link(url("features:collections"), "data", "application/json", "collections"),
                ],
            }
            return respond(request, doc, "tumen sightings", geo=False, f=f)

    def conformance(self) -> None:
        """GET /api/conformance."""

        @self.router.get(
            "/conformance",
            name="features:conformance",
            summary="Conformance classes",
            responses=JSON_OR_HTML,
        )
        def conformance(request: Request, f: str | None = None) -> Response:
            return respond(request, {"conformsTo": CONFORMANCE}, "Conformance", geo=False, f=f)

    def collections(self) -> None:
        """GET /api/collections."""

        @self.router.get(
            "/collections",
            name="features:collections",
            summary="Collections",
            responses=JSON_OR_HTML,
        )
        def collections(
            request: Request,
            store: Annotated[ObservationStore, Depends(get_store)],
            scenes: Annotated[SceneIndex, Depends(get_scene_index)],
            sites: SiteLookup,
            f: str | None = None,
        ) -> Response:
            every = [self.collection(cid, store, scenes, sites) for cid in COLLECTIONS]
            doc = {
                "links": [
                    link(request.url_for("features:collections"), "self", "application/json")
                ],
                "collections": [self.collection_doc(request, c, sites) for c in every],
            }
            return respond(request, doc, "Collections", geo=False, f=f)

    def one_collection(self) -> None:
        """GET /api/collections/{cid}."""

        @self.router.get(
            "/collections/{cid}",
            name="features:collection",
            summary="A collection",
            responses=JSON_OR_HTML,
        )
        def collection(
            request: Request,
            c: Annotated[Collection, Depends(self.collection)],
            sites: SiteLookup,
            f: str | None = None,
        ) -> Response:
            return respond(request, self.collection_doc(request, c, sites), c.id, geo=False, f=f)

    def queryables(self) -> None:
        """GET /api/collections/{cid}/queryables: the filters each collection applies."""

        @self.router.get(
            "/collections/{cid}/queryables",
            name="features:queryables",
            summary="Queryable properties (JSON Schema)",
            responses={200: {"content": {"application/schema+json": {}}}},
        )
        def queryables(
            request: Request,
            c: Annotated[Collection, Depends(self.collection)],
            f: str | None = None,
        ) -> Response:
            schema = ObservationProps.model_json_schema()["properties"]
            keep = ("type", "enum", "anyOf", "format", "description")
            props: dict[str, Any] = {
                k: {"title": k, **{kk: vv for kk, vv in schema[k].items() if kk in keep}}
                for k in c.filters
            }
            props["geometry"] = {"$ref": "https://geojson.org/schema/Geometry.json"}
            if c.id != "sites":
                props["datetime"] = {"type": "string", "format": "date-time", "title": "time"}
            doc = {
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "$id": str(request.url_for("features:queryables", cid=c.id)),
                "type": "object",
                "title": c.id,
                "properties": props,
                "additionalProperties": False,
            }
            return JSONResponse(doc, media_type="application/schema+json")

    def options(self) -> None:
        """OPTIONS on items and on one item: what each collection allows."""

        @self.router.options("/collections/{cid}/items", include_in_schema=False)
        def items_options(c: Annotated[Collection, Depends(self.collection)]) -> Response:
            allow = "GET, HEAD, POST, OPTIONS" if c.writable else "GET, HEAD, OPTIONS"
            return Response(status_code=204, headers={"Allow": allow})

        @self.router.options("/collections/{cid}/items/{fid}", include_in_schema=False)
        def item_options(c: Annotated[Collection, Depends(self.collection)]) -> Response:
            allow = "GET, HEAD, PUT, PATCH, DELETE, OPTIONS" if c.writable else "GET, HEAD, OPTIONS"
            return Response(status_code=204, headers={"Allow": allow})

    def page_links(
        self, request: Request, cid: str, q: StoreQuery, matched: int
    ) -> list[dict[str, str]]:
        """self, collection, and next/prev where there is a page there."""
        url = str(request.url_for("features:items", cid=cid))
        params = [
            (k, v) for k, v in request.query_params.multi_items() if k not in ("offset", "limit")
        ]

        def at(offset: int) -> str:
            return f"{url}?{urlencode([*params, ('limit', str(q.limit)), ('offset', str(offset))])}"

        links = [
            link(at(q.offset), "self", GEOJSON),
            link(request.url_for("features:collection", cid=cid), "collection", "application/json"),
        ]
        if q.offset + q.limit < matched:
            links.append(link(at(q.offset + q.limit), "next", GEOJSON))
        if q.offset > 0:
            links.append(link(at(max(0, q.offset - q.limit)), "prev", GEOJSON))
        return links

    def items(self) -> None:
        """GET /api/collections/{cid}/items."""

        @self.router.get(
            "/collections/{cid}/items",
            name="features:items",
            summary="Features of a collection",
            responses=GEOJSON_OR_HTML,
        )
        def items(
            request: Request,
            c: Annotated[Collection, Depends(self.collection)],
            q: Annotated[StoreQuery, Depends(items_query)],
            sites: SiteLookup,
            f: str | None = None,
        ) -> Response:
            if "site" in q.equals:
                self.known_site(sites, q.equals["site"])
            features, matched = c.features(q)
            for feature in features:
                href = request.url_for("features:item", cid=c.id, fid=str(feature["id"]))
                feature["links"] = [link(href, "self", GEOJSON)]
            doc = {
                "type": "FeatureCollection",
                "features": features,
                "numberMatched": matched,
                "numberReturned": len(features),
                "timeStamp": dt.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "links": self.page_links(request, c.id, q, matched),
            }
            return respond(request, doc, f"{c.id} items", geo=True, f=f)

    def item(self) -> None:
        """GET /api/collections/{cid}/items/{fid}."""

        @self.router.get(
            "/collections/{cid}/items/{fid}",
            name="features:item",
            summary="One feature",
            responses=GEOJSON_OR_HTML,
        )
        def item(
            request: Request,
            c: Annotated[Collection, Depends(self.collection)],
            fid: str,
            f: str | None = None,
        ) -> Response:
            found = c.item(fid)
            url = request.url_for
            links = [
                link(url("features:item", cid=c.id, fid=fid), "self", GEOJSON),
                link(url("features:collection", cid=c.id), "collection", "application/json"),
            ]
            headers = None
            if found.version is not None:
                links.append(
                    link(
                        url("features:history", cid=c.id, fid=fid),
                        "version-history",
                        "application/json",
                    )
                )
                headers = {"ETag": etag(found.version)}
            doc = {**found.feature, "links": links}
            return respond(request, doc, fid, geo=True, f=f, headers=headers)

    def activity(self) -> None:
        """GET /api/collections/observations/activity: one series per kind, never a sum."""

        @self.router.get(
            "/collections/observations/activity",
            name="features:activity",
            summary="Activity per period and kind, each kind beside its own baseline",
            response_model=Activity,
        )
        def activity(
            store: Annotated[ObservationStore, Depends(get_store)],
            sites: SiteLookup,
            site: str,
            kind: Annotated[
                str | None,
                Query(
                    description="one kind; without it, a series for each kind present",
                    json_schema_extra={"enum": list(KINDS)},
                ),
            ] = None,
            interval: Interval = "day",
            datetime: str | None = None,
            review: Annotated[
                Review,
                Query(description="the review state counted; unreviewed candidates come apart"),
            ] = "confirmed",
        ) -> Activity:
            info = self.known_site(sites, site)
            wanted = parse_kind(kind)
            start, end = parse_datetime(datetime)
            equals = {"site": site} | ({"kind": wanted} if wanted else {})
            page = store.query(StoreQuery(start=start, end=end, equals=equals, limit=EVERYTHING))
            return activity_by_kind(page.features, info, interval, wanted, review)
