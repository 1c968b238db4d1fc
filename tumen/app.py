"""The composition root: one FastAPI app from the imagery side and the sightings side."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from overlays.errors import STATUS_CODES as OVERLAYS_STATUS_CODES
from overlays.routes import FeaturesAPI
from tiles.archive import Archives
from tiles.catalog import Catalog
from tiles.delivery import TileDelivery, document_revalidation
from tiles.errors import STATUS_CODES as TILES_STATUS_CODES
from tiles.reader import configure_gdal, limit_malloc_arenas
from tiles.resolve import SceneResolver
from tiles.routes import add_imagery_routes
from tiles.storage import S3Storage, open_storage
from tumen import __version__
from tumen.analysis_api import analysis_router
from tumen.connect import qgis_router
from tumen.db import open_backend
from tumen.errors import AnalysisRefused, add_exception_handlers, document_errors
from tumen.feed import feed_router
from tumen.forwarded import ForwardedHeaders
from tumen.limits import RequestLimits
from tumen.publication import PublishLimits
from tumen.publish_api import publish_router
from tumen.report import report_router
from tumen.scene_index import CatalogScenes
from tumen.settings import Settings
from tumen.site_index import CatalogSites
from tumen.web import add_map


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app for ``settings``; shared resources open in the lifespan and live on app.state."""
    settings = settings or Settings()
    logging.basicConfig(level=settings.log_level.upper())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_gdal(settings.gdal_cache_mb)
        limit_malloc_arenas(settings.malloc_arenas)
        # The catalog holds the sites too; the sites file seeds them once.
        # Catalog and sightings: SQLite, or PostgreSQL on one pool for both (tumen/db.py).
        backend = open_backend(settings)
        app.state.catalog = Catalog(backend.catalog_db, settings.data_dir, settings.sites_file)
        app.state.resolver = SceneResolver(app.state.catalog)
        # Object storage (TUMEN_STORAGE_URL): checked once, so a wrong bucket or a server that is
        # down stops the start with one line instead of failing every tile.
        storage = open_storage(settings.storage_url, settings.data_dir)
        storage.check()
        app.state.storage = storage
        s3 = storage.objects if isinstance(storage, S3Storage) else None
        app.state.archives = Archives(settings.baked_dir, s3)
        app.state.store = backend.store
        # The sightings side sees the catalog only through this narrow, memoised index.
        app.state.scene_index = CatalogScenes(app.state.catalog, app.state.resolver)
        app.state.site_index = CatalogSites(app.state.resolver.site_documents)
        yield
        app.state.archives.close()
        app.state.resolver.close()
        backend.close()

    app = FastAPI(
        title="tumen",
        version=__version__,
        description="Dated imagery of the DPRK–Russia border as map tiles, with its sightings.",
        lifespan=lifespan,
    )
    app.state.settings = settings

    add_exception_handlers(
        app, {**TILES_STATUS_CODES, **OVERLAYS_STATUS_CODES, AnalysisRefused: 400}
    )
    add_imagery_routes(app, max_part_px=settings.max_part_px)
    features = FeaturesAPI(
        api_key=settings.api_key.get_secret_value() if settings.api_key else None,
        write_rate=settings.write_rate,
    )
    app.include_router(features.router)
    app.add_middleware(
        TileDelivery,
        resolver=lambda: app.state.resolver,
        archives=lambda: app.state.archives,
        cache_bytes=settings.tile_cache_mb * 1024 * 1024,
        max_age=settings.tile_max_age,
        latest_max_age=settings.latest_max_age,
    )

    # Outermost: a body is measured before any route or the tile layer sees it.
    app.add_middleware(
        RequestLimits,
        max_body_bytes=settings.max_body_bytes,
        max_vertices=settings.max_vertices,
    )
    # Outermost of all: the proxy's scheme, host and prefix, for every link any package makes.
    app.add_middleware(ForwardedHeaders)

    app.include_router(qgis_router())
    app.include_router(report_router(settings.report_max_km2))
    app.include_router(publish_router(PublishLimits.of(settings)))
    app.include_router(analysis_router(features.actor, settings.analysis_max_km2))
    app.include_router(feed_router(settings.feed_entries, settings.feed_authority))

    @app.get("/healthz", tags=["Service"])
    def healthz() -> dict[str, str]:
        """Liveness for the container healthcheck."""
        return {"status": "ok", "version": __version__}

    add_map(app, settings.web_dir)
    document_errors(app, also=[document_revalidation])
    return app
