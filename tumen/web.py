"""The map page: web/ (with its vendored JavaScript) served at /map/."""

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles


def add_map(app: FastAPI, web_dir: Path) -> None:
    """Serve the page at /map/ and send / there; say how to vendor the JS if it is missing."""
    if not (web_dir / "vendor" / "leaflet.js").is_file():
        raise RuntimeError(
            f"{web_dir}/vendor is missing: run 'make setup' (npm ci and node vendor.mjs in web/)"
        )
    app.mount("/map", StaticFiles(directory=web_dir, html=True), name="map")

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/map/")
