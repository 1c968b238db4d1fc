"""OGC API – Features (Part 1 core, Part 3 queryables, Part 4 writes) at /api: the read side here."""

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from shapely.geometry import box, mapping, shape

from overlays.activity import Activity, Interval, activity_by_kind
from overlays.api import (
    COLLECTIONS,
    GEOJSON,
    GEOJSON_OR_HTML,
    JSON_OR_HTML,
    READ_ERRORS,
    FeaturesConfig,
    base_url,
    etag,
    known,
    respond,
)
from overlays.errors import FeatureNotFound, InvalidQuery
from overlays.kinds import kinds_doc
from overlays.models import KINDS, ObservationProps
from overlays.params import MAX_LIMIT, MAX_OFFSET, parse_datetime, parse_kind, parse_query
from overlays.store import FILTERABLE
from overlays.store import Query as StoreQuery
from overlays.tracks import build_tracks
from overlays.writes import add_write_routes

CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/create-replace-delete",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/update",
]


def features_router(config: FeaturesConfig) -> APIRouter:
    """All /api routes over one store: reads here, writes from overlays.writes."""
    router = APIRouter(prefix="/api", tags=["OGC API – Features"], responses=READ_ERRORS)
    store = config.store

    def collection_doc(request: Request, cid: str) -> dict[str, Any]:
        base = base_url(request)
        doc: dict[str, Any] = {
            "id": cid,
            "title": cid,
            "description": COLLECTIONS[cid],
            "itemType": "feature",
            "crs": ["http://www.opengis.net/def/crs/OGC/1.3/CRS84"],
            "links": [
                {
                    "rel": "self",
                    "href": f"{base}/api/collections/{cid}",
                    "type": "application/json",
                },
                {"rel": "items", "href": f"{base}/api/collections/{cid}/items", "type": GEOJSON},
                {
                    "rel": "http://www.opengis.net/def/rel/ogc/1.0/queryables",
                    "href": f"{base}/api/collections/{cid}/queryables",
                    "type": "application/schema+json",
                },
            ],
        }
        boxes = [s.bbox for s in config.sites.values()]
        doc["extent"] = {
            "spatial": {
                "bbox": [
                    [
                        min(b[0] for b in boxes),
                        min(b[1] for b in boxes),
                        max(b[2] for b in boxes),
                        max(b[3] for b in boxes),
                    ]
                ],
                "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
            },
            "temporal": {
                "interval": [[None, None]],
                "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian",
            },
        }
        if cid == "observations":
            doc["kinds"] = kinds_doc()  # label, plural and colour per kind: what the map shows
        return doc

    @router.get("", summary="Landing page", responses=JSON_OR_HTML)
    def landing(request: Request, f: str | None = None) -> Response:
        base = base_url(request)
        doc = {
            "title": "tumen sightings",
            "description": "Sightings of rail and sea traffic at the DPRK–Russia border, with sources.",
            "links": [
                {
                    "rel": "self",
                    "href": f"{base}/api",
                    "type": "application/json",
                    "title": "this document",
                },
                {
                    "rel": "service-desc",
                    "href": f"{base}/openapi.json",
                    "type": "application/vnd.oai.openapi+json;version=3.1",
                    "title": "the API definition",
                },
                {
                    "rel": "service-doc",
                    "href": f"{base}/docs",
                    "type": "text/html",
                    "title": "the API documentation",
                },
                {
                    "rel": "conformance",
                    "href": f"{base}/api/conformance",
                    "type": "application/json",
                    "title": "conformance classes",
                },
                {
                    "rel": "data",
                    "href": f"{base}/api/collections",
                    "type": "application/json",
                    "title": "collections",
                },
            ],
        }
        return respond(request, doc, "tumen sightings", geo=False, f=f)

    @router.get("/conformance", summary="Conformance classes", responses=JSON_OR_HTML)
    def conformance(request: Request, f: str | None = None) -> Response:
        return respond(request, {"conformsTo": CONFORMANCE}, "Conformance", geo=False, f=f)

    @router.get("/collections", summary="Collections", responses=JSON_OR_HTML)
    def collections(request: Request, f: str | None = None) -> Response:
        base = base_url(request)
        doc = {
            "links": [
                {"rel": "self", "href": f"{base}/api/collections", "type": "application/json"}
            ],
            "collections": [collection_doc(request, cid) for cid in COLLECTIONS],
        }
        return respond(request, doc, "Collections", geo=False, f=f)

    @router.get("/collections/{cid}", summary="A collection", responses=JSON_OR_HTML)
    def collection(request: Request, cid: str, f: str | None = None) -> Response:
        known(cid)
        return respond(request, collection_doc(request, cid), cid, geo=False, f=f)

    @router.get(
        "/collections/{cid}/queryables",
        summary="Queryable properties (JSON Schema)",
        responses={200: {"content": {"application/schema+json": {}}}},
    )
    def queryables(request: Request, cid: str, f: str | None = None) -> Response:
        known(cid)
        schema = ObservationProps.model_json_schema()["properties"]
        props = (
            {
                k: {
                    "title": k,
                    **{
                        kk: vv
                        for kk, vv in schema[k].items()
                        if kk in ("type", "enum", "anyOf", "format", "description")
                    },
                }
                for k in FILTERABLE
            }
            if cid == "observations"
            else {}
        )
        props["geometry"] = {"$ref": "https://geojson.org/schema/Geometry.json"}
        if cid == "observations":
            props["datetime"] = {
                "type": "string",
                "format": "date-time",
                "title": "observed_at … observed_until",
            }
        doc = {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": f"{base_url(request)}/api/collections/{cid}/queryables",
            "type": "object",
            "title": cid,
            "properties": props,
            "additionalProperties": False,
        }
        return JSONResponse(doc, media_type="application/schema+json")

    @router.options("/collections/{cid}/items", include_in_schema=False)
    def items_options(cid: str) -> Response:
        known(cid)
        allow = "GET, HEAD, POST, OPTIONS" if cid == "observations" else "GET, HEAD, OPTIONS"
        return Response(status_code=204, headers={"Allow": allow})

    @router.options("/collections/{cid}/items/{fid}", include_in_schema=False)
    def item_options(cid: str, fid: str) -> Response:
        known(cid)
        allow = (
            "GET, HEAD, PUT, PATCH, DELETE, OPTIONS"
            if cid == "observations"
            else "GET, HEAD, OPTIONS"
        )
        return Response(status_code=204, headers={"Allow": allow})

    def page_links(request: Request, cid: str, q: StoreQuery, matched: int) -> list[dict[str, str]]:
        base = base_url(request)
        url = f"{base}/api/collections/{cid}/items"
        params = [
            (k, v) for k, v in request.query_params.multi_items() if k not in ("offset", "limit")
        ]

        def at(offset: int) -> str:
            return (
                url + "?" + urlencode([*params, ("limit", str(q.limit)), ("offset", str(offset))])
            )

        links = [
            {"rel": "self", "href": at(q.offset), "type": GEOJSON},
            {
                "rel": "collection",
                "href": f"{base}/api/collections/{cid}",
                "type": "application/json",
            },
        ]
        if q.offset + q.limit < matched:
            links.append({"rel": "next", "href": at(q.offset + q.limit), "type": GEOJSON})
        if q.offset > 0:
            links.append({"rel": "prev", "href": at(max(0, q.offset - q.limit)), "type": GEOJSON})
        return links

    def derived_features(cid: str, q: StoreQuery) -> list[dict[str, Any]]:
        """sites, scenes and tracks: built on request and filtered in memory (they are few)."""
        if cid == "sites":
            feats = [
                {
                    "type": "Feature",
                    "id": s.id,
                    "geometry": mapping(box(*s.bbox)),
                    "properties": {
                        "name": s.name,
                        "description": s.description,
                        "centre": list(s.centre),
                        "main_kind": s.main_kind,
                        "baselines": [b.model_dump() for b in s.baselines],
                    },
                }
                for s in config.sites.values()
            ]
        elif cid == "scenes":
            feats = [
                {
                    "type": "Feature",
                    "id": s["id"],
                    "geometry": mapping(box(*s["bbox"])),
                    "properties": {k: v for k, v in s.items() if k not in ("id", "bbox")},
                }
                for s in config.scenes()
            ]
        else:
            everything = store().query(StoreQuery(limit=1_000_000))
            feats = build_tracks(everything.features)
        if q.bbox is not None:
            feats = [f for f in feats if shape(f["geometry"]).intersects(box(*q.bbox))]
        return feats

    @router.get(
        "/collections/{cid}/items", summary="Features of a collection", responses=GEOJSON_OR_HTML
    )
    def items(
        request: Request,
        cid: str,
        bbox: Annotated[
            str | None, Query(description="minlon,minlat,maxlon,maxlat (WGS84)")
        ] = None,
        datetime: Annotated[
            str | None, Query(description="instant or interval a/b, '..' open")
        ] = None,
        limit: Annotated[
            int | None, Query(ge=1, description=f"default 100; capped at {MAX_LIMIT}")
        ] = None,
        offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
        sortby: Annotated[str | None, Query(description="observed_at or -observed_at")] = None,
        site: str | None = None,
        kind: str | None = None,
        status: str | None = None,
        scene_id: str | None = None,
        track_id: str | None = None,
        method: str | None = None,
        f: str | None = None,
    ) -> Response:
        known(cid)
        q = parse_query(
            bbox=bbox,
            datetime_=datetime,
            limit=limit,
            offset=offset,
            sortby=sortby,
            equals={
                "site": site,
                "kind": kind,
                "status": status,
                "scene_id": scene_id,
                "track_id": track_id,
                "method": method,
            },
        )
        base = base_url(request)
        if cid == "observations":
            page = store().query(q)
            feats = flag_removed_scenes([o.feature() for o in page.features], config.scenes())
            matched = page.matched
        else:
            every = derived_features(cid, q)
            matched = len(every)
            feats = every[q.offset : q.offset + q.limit]
        for feat in feats:
            feat["links"] = [
                {
                    "rel": "self",
                    "href": f"{base}/api/collections/{cid}/items/{feat['id']}",
                    "type": GEOJSON,
                }
            ]
        from datetime import UTC
        from datetime import datetime as dt

        doc = {
            "type": "FeatureCollection",
            "features": feats,
            "numberMatched": matched,
            "numberReturned": len(feats),
            "timeStamp": dt.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "links": page_links(request, cid, q, matched),
        }
        return respond(request, doc, f"{cid} items", geo=True, f=f)

    @router.get("/collections/{cid}/items/{fid}", summary="One feature", responses=GEOJSON_OR_HTML)
    def item(request: Request, cid: str, fid: str, f: str | None = None) -> Response:
        known(cid)
        base = base_url(request)
        links = [
            {"rel": "self", "href": f"{base}/api/collections/{cid}/items/{fid}", "type": GEOJSON},
            {
                "rel": "collection",
                "href": f"{base}/api/collections/{cid}",
                "type": "application/json",
            },
        ]
        if cid == "observations":
            stored = store().get(fid)
            links.append(
                {
                    "rel": "version-history",
                    "href": f"{base}/api/collections/{cid}/items/{fid}/history",
                    "type": "application/json",
                }
            )
            doc = flag_removed_scenes([stored.feature(links)], config.scenes())[0]
            return respond(
                request,
                doc,
                fid,
                geo=True,
                f=f,
                headers={"ETag": etag(stored.version)},
            )
        match = [x for x in derived_features(cid, StoreQuery()) if x["id"] == fid]
        if not match:
            raise FeatureNotFound(cid, fid)
        return respond(request, {**match[0], "links": links}, fid, geo=True, f=f)

    @router.get(
        "/collections/observations/activity",
        summary="Activity per period and kind, each kind beside its own baseline",
        response_model=Activity,
    )
    def activity(
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
    ) -> Activity:
        if site not in config.sites:
            raise InvalidQuery(f"site: unknown site '{site}'; known: {', '.join(config.sites)}")
        wanted = parse_kind(kind)
        start, end = parse_datetime(datetime)
        equals = {"site": site} | ({"kind": wanted} if wanted else {})
        page = store().query(StoreQuery(start=start, end=end, equals=equals, limit=1_000_000))
        return activity_by_kind(page.features, config.sites[site], interval, wanted)

    add_write_routes(router, config)
    return router


def flag_removed_scenes(
    features: list[dict[str, Any]], scenes: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Mark sightings whose scene_id names a scene that is no longer in the catalog."""
    known = {s["id"] for s in scenes}
    for feature in features:
        scene_id = feature["properties"].get("scene_id")
        feature["properties"]["scene_removed"] = scene_id is not None and scene_id not in known
    return features
