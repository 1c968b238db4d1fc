"""``tumen serve`` and ``tumen demo``: the server (with its baker behind it) and the demo data set."""

import signal
import sys
from typing import Annotated

import typer

from tumen.cli.bake import bake_scenes
from tumen.cli.common import catalog_of, console, settings_of, storage_of


def serve(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(help="Default: TUMEN_HOST.")] = None,
    port: Annotated[int | None, typer.Option(help="Default: TUMEN_PORT.")] = None,
    workers: Annotated[int | None, typer.Option(help="Default: TUMEN_WORKERS.")] = None,
    bake_behind: Annotated[
        bool | None,
        typer.Option(
            "--bake/--no-bake",
            help="Bake scenes without a current archive in one low-priority process while "
            "serving. Default: TUMEN_BAKE_ON_SERVE.",
        ),
    ] = None,
) -> None:
    """Serve the API, tiles and map with uvicorn (baking what is not baked behind it)."""
    import uvicorn

    from tumen.baker import start_background_bake, stop_background_bake
    from tumen.db import check_database
    from tumen.http_protocol import TumenHttpProtocol

    settings = settings_of(ctx)
    check_database(settings)  # PostgreSQL out of reach or not migrated: one line and exit 2
    storage_of(ctx).check()  # S3 out of reach: one line and exit 2, before any worker starts
    console.print(
        f"tumen on http://{host or settings.host}:{port or settings.port}/ "
        f"(data: {settings.data_dir.resolve()})"
    )
    # A SIGTERM before uvicorn installs its own handlers must still stop the baker: while the
    # baker is being started it is only noted, then it exits through `finally`.
    stop_requested: list[int] = []
    signal.signal(signal.SIGTERM, lambda *_: stop_requested.append(1))
    baker = None
    try:
        if settings.bake_on_serve if bake_behind is None else bake_behind:
            baker = start_background_bake(settings)
            if baker is not None:
                console.print(
                    "analysing and baking in the background; until then tiles render on request"
                )
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        if stop_requested:
            return
        uvicorn.run(
            "tumen.app:create_app",
            factory=True,
            host=host or settings.host,
            port=port or settings.port,
            workers=workers or settings.workers,
            log_level=settings.log_level,
            proxy_headers=True,
            http=TumenHttpProtocol,
        )
    finally:
        stop_background_bake(baker)


def demo(
    ctx: typer.Context,
    force: Annotated[
        bool, typer.Option("--force", help="Rebuild even if the demo exists.")
    ] = False,
    bake_tiles: Annotated[
        bool,
        typer.Option(
            "--bake/--no-bake",
            help="Bake the scenes' tiles (PMTiles) now. By default `tumen serve` bakes them "
            "behind, so the map answers at once.",
        ),
    ] = False,
    run_analysis: Annotated[
        bool,
        typer.Option(
            "--analyze/--no-analyze",
            help="Find trains, ships and cargo on each scene drawn now, as candidates beside the "
            "reported sightings. By default `tumen serve` analyses them behind.",
        ),
    ] = False,
) -> None:
    """Build the synthetic demo data set (scenes drawn from the reported sightings)."""
    from tumen.cli.analyze import analyze_scenes
    from tumen.demo.build import build_demo

    settings = settings_of(ctx)
    scenes = build_demo(settings, force=force, console=console)
    if run_analysis:
        analyze_scenes(
            settings, catalog_of(ctx), [s for s in scenes if s.analysis == "pending"], None
        )
    if bake_tiles:
        todo = [s for s in scenes if not s.is_baked]
        if todo:
            bake_scenes(ctx, todo)
