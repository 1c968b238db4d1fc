"""The composition root: one FastAPI app from the imagery side and the sightings side."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import RedirectResponse

from tiles.archive import Archives
from tiles.catalog import Catalog
from tiles.delivery import TileDelivery
from tiles.errors import STATUS_CODES as TILES_STATUS_CODES
from tiles.resolve import SceneResolver
from tiles.routes import add_imagery_routes
from tiles.sites import load_sites
from tumen import __version__
from tumen.connect import qgis_router
from tumen.errors import add_exception_handlers
from tumen.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app for ``settings``; shared resources open in the lifespan and live on app.state."""
    settings = settings or Settings()
    logging.basicConfig(level=settings.log_level.upper())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.catalog = Catalog(settings.database, settings.data_dir)
        app.state.resolver = SceneResolver(app.state.catalog)
        app.state.archives = Archives(settings.baked_dir)
        yield
        app.state.archives.close()
        app.state.resolver.close()

    app = FastAPI(
        title="tumen",
        version=__version__,
        description="Dated imagery of the DPRK–Russia border as map tiles, with its sightings.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.sites = load_sites(settings.sites_file)

    add_exception_handlers(app, TILES_STATUS_CODES)
    add_imagery_routes(app)
    app.add_middleware(
        TileDelivery,
        resolver=lambda: app.state.resolver,
        archives=lambda: app.state.archives,
        cache_bytes=settings.tile_cache_mb * 1024 * 1024,
        max_age=settings.tile_max_age,
        latest_max_age=settings.latest_max_age,
    )

    app.include_router(qgis_router())

    @app.get("/healthz", tags=["Service"])
    def healthz() -> dict[str, str]:
        """Liveness for the container healthcheck."""
        return {"status": "ok", "version": __version__}

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/docs")

    return app
