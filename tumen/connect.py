"""`GET /qgis`: the URLs a GIS user pastes, per site, with one-line instructions for QGIS and GDAL."""

from collections.abc import Mapping
from html import escape
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from tiles.catalog import Catalog
from tiles.dependencies import get_catalog, get_sites
from tiles.grid import WEB_MERCATOR
from tiles.sites import Site
from tiles.wmts import wmts_time


def connection_info(
    base: str, sites: Mapping[str, Site], times: dict[str, list[str]], formats: dict[str, str]
) -> dict[str, Any]:
    """For each site: XYZ template, WMTS URL + layer + times, OAPIF URL, and how to use each."""
    wmts = f"{base}/wmts/WMTSCapabilities.xml"
    api = f"{base}/api"
    out = []
    for site_id, site in sites.items():
        site_times = times.get(site_id, [])
        latest = site_times[-1] if site_times else None
        ext = formats.get(site_id, "png")
        xyz = f"{base}/sites/{site_id}/tiles/{WEB_MERCATOR}/{{z}}/{{x}}/{{y}}.{ext}"
        xyz_dated = f"{xyz}?datetime={latest}" if latest else xyz
        qgis_wmts = (
            f"contextualWMSLegend=0&crs=EPSG:3857&dpiMode=7&format=image/png&layers={site_id}"
            f"&styles=default&tileMatrixSet={WEB_MERCATOR}&url={wmts}"
        )
        out.append(
            {
                "site": site_id,
                "name": site.name,
                "times": site_times,
                "xyz": {
                    "template": xyz,
                    "template_at_latest": xyz_dated,
                    "qgis": "Browser ▸ XYZ Tiles ▸ New Connection; URL = the template "
                    "(add ?datetime=ISO for a date); max zoom 19.",
                    "gdal": "use the WMTS URL below (GDAL's WMTS driver); the XYZ template is "
                    "for QGIS, Leaflet and other slippy maps",
                },
                "wmts": {
                    "capabilities": wmts,
                    "layer": site_id,
                    "time_dimension": "Time",
                    "qgis": "Layer ▸ Add WMS/WMTS Layer ▸ New; URL = capabilities; pick layer "
                    f"'{site_id}'; QGIS ≥ 3.28 follows the Temporal Controller, older ones ask "
                    "for a Time value.",
                    "qgis_uri": qgis_wmts,
                    "qgis_uri_at_time": f"{qgis_wmts}&tileDimensions=Time%3D{quote(latest, safe=':')}"
                    if latest
                    else None,
                    "gdal": f"gdalinfo WMTS:{wmts},layer={site_id}   "
                    f"(a date: WMTS:{wmts}?datetime=ISO,layer={site_id})",
                },
                "oapif": {
                    "landing": api,
                    "items": f"{api}/collections/observations/items?site={site_id}",
                    "qgis": "Layer ▸ Add WFS / OGC API – Features Layer ▸ New; URL = "
                    f"{api}; collection 'observations' (filter site = '{site_id}').",
                    "gdal": f'ogr2ogr -f GPKG {site_id}.gpkg "OAPIF:{api}" observations '
                    f"-where \"site = '{site_id}'\"",
                },
            }
        )
    return {"sites": out, "wmts": wmts, "oapif": api}


def qgis_router() -> APIRouter:
    """The /qgis page (HTML for people, JSON with ?f=json for the map's panel and scripts)."""
    router = APIRouter()

    @router.get(
        "/qgis",
        tags=["Service"],
        response_class=HTMLResponse,
        responses={200: {"content": {"application/json": {}}}},  # f=json
    )
    def qgis(
        request: Request,
        catalog: Annotated[Catalog, Depends(get_catalog)],
        sites: Annotated[Mapping[str, Site], Depends(get_sites)],
        f: Annotated[str, Query(pattern="^(html|json)$")] = "html",
    ) -> Response:
        """How to add tumen to QGIS or read it with GDAL, per site."""
        base = str(request.base_url).rstrip("/")  # public: tumen.forwarded applied the proxy's
        scenes = {sid: catalog.list(sid) for sid in sites}
        times = {sid: [wmts_time(s.datetime) for s in scenes[sid]] for sid in sites}
        # The XYZ template names the latest scene's baked format, so QGIS gets archived tiles.
        formats = {
            sid: fmt
            for sid, s in scenes.items()
            if s and s[-1].is_baked and (fmt := s[-1].tile_format)
        }
        info = connection_info(base, sites, times, formats)
        if f == "json":
            return JSONResponse(info)
        return HTMLResponse(render_html(info))

    return router


def render_html(info: dict[str, Any]) -> str:
    """A plain page; every value is escaped."""
    rows = []
    for s in info["sites"]:
        items = [
            ("XYZ (latest)", s["xyz"]["template"], s["xyz"]["qgis"]),
            ("WMTS capabilities", s["wmts"]["capabilities"], s["wmts"]["qgis"]),
            ("WMTS in GDAL", s["wmts"]["gdal"], ""),
            ("OGC API – Features", s["oapif"]["landing"], s["oapif"]["qgis"]),
            ("Observations in GDAL", s["oapif"]["gdal"], ""),
        ]
        body = "".join(
            f"<tr><th>{escape(k)}</th><td><code>{escape(v)}</code></td><td>{escape(h)}</td></tr>"
            for k, v, h in items
        )
        times = escape(", ".join(s["times"]) or "no scenes yet")
        rows.append(
            f"<h2>{escape(s['name'])} (<code>{escape(s['site'])}</code>)</h2>"
            f"<p>Scene times (WMTS Time values): {times}</p><table>{body}</table>"
        )
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>tumen in QGIS and GDAL</title>"
        "<style>body{font-family:sans-serif;max-width:70em;margin:2em auto}"
        "td,th{border-bottom:1px solid #ddd;padding:.3em;text-align:left;vertical-align:top}"
        "code{word-break:break-all}</style></head><body><h1>Use tumen from QGIS and GDAL</h1>"
        + "".join(rows)
        + "</body></html>"
    )
