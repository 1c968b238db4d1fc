"""``tumen analyze``: trains, ships and cargo found on scenes, kept as candidate sightings."""

from collections.abc import Sequence
from typing import Annotated

import typer
from rich.progress import Progress

from tiles.catalog import Catalog, Scene
from tumen.cli.common import CommandRefused, catalog_of, console, err, settings_of
from tumen.settings import Settings


def analyze_scenes(
    settings: Settings, catalog: Catalog, scenes: Sequence[Scene], baseline: str | None
) -> None:
    """Analyse each scene with a progress bar, then print one summary line per scene."""
    from tumen.analyze import analyze_scene
    from tumen.db import open_store

    store = open_store(settings)
    sites = catalog.sites.all()
    lines = []
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("analysing", total=len(scenes))
        for scene in scenes:
            progress.update(task, description=f"analysing {scene.id}")
            run = analyze_scene(
                catalog,
                store,
                sites,
                scene.id,
                baseline,
                actor="tumen analyze",
                max_km2=settings.analysis_max_km2,
            )
            lines.append(run.summary())
            for part in run.sites:
                lines += [f"  {part.site}: {note}" for note in part.result.notes]
            progress.advance(task)
    for line in lines:
        console.print(line, highlight=False, soft_wrap=True)


def analyze_new_scene(settings: Settings, catalog: Catalog, scene: Scene) -> None:
    """After ingest: analyse the scene; a refusal is said, the scene stays registered."""
    from tumen.errors import AnalysisRefused

    try:
        analyze_scenes(settings, catalog, [scene], None)
    except AnalysisRefused as exc:
        err.print(f"[yellow]not analysed:[/yellow] {exc}")


def analyze(
    ctx: typer.Context,
    scene_ids: Annotated[list[str] | None, typer.Argument(help="Scenes to analyse.")] = None,
    baseline: Annotated[
        str | None,
        typer.Option(
            help="Scene to compare with; default: the site's baseline, else its earliest."
        ),
    ] = None,
    every: Annotated[
        bool, typer.Option("--all", help="Analyse every scene of the catalog.")
    ] = False,
) -> None:
    """Find trains (with wagon counts), ships and cargo; replaces the scenes' earlier automated sightings."""
    catalog = catalog_of(ctx)
    if every == bool(scene_ids):
        raise CommandRefused("name scenes to analyse, or --all")
    scenes = catalog.list() if every else [catalog.get(s) for s in scene_ids or []]
    analyze_scenes(settings_of(ctx), catalog, scenes, baseline)
