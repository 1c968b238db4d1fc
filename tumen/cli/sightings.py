"""``tumen sightings import|export``: sightings in and out as GeoJSON or a GeoPackage."""

from pathlib import Path
from typing import Annotated

import typer

from tumen.cli.common import CommandRefused, catalog_of, console, settings_of


def sightings_import(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="A GeoJSON FeatureCollection of sightings.")],
) -> None:
    """Add every sighting of a file, or none: the first bad feature is named and nothing is written."""
    from overlays.io import ImportFailed, read_features
    from tumen.db import open_store
    from tumen.scene_index import CatalogScenes
    from tumen.site_index import CatalogSites

    settings, catalog = settings_of(ctx), catalog_of(ctx)
    if not file.is_file():
        raise ImportFailed(f"{file}: no such file")
    features = read_features(file, CatalogSites(catalog.sites.documents), CatalogScenes(catalog))
    n = open_store(settings).create_many(features, actor=f"import:{file.name}")
    console.print(f"imported {n} sightings from {file}")


def sightings_export(
    ctx: typer.Context,
    fmt: Annotated[str, typer.Option("--format", help="geojson or gpkg")] = "geojson",
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Output file.")] = None,
) -> None:
    """Write every sighting to GeoJSON or a GeoPackage."""
    from overlays.io import export_geojson, export_gpkg
    from tumen.db import open_store

    if fmt not in ("geojson", "gpkg"):
        raise CommandRefused(f"--format must be geojson or gpkg, not '{fmt}'")
    dst = out or Path(f"sightings.{fmt}")
    store = open_store(settings_of(ctx))
    n = export_geojson(store, dst) if fmt == "geojson" else export_gpkg(store, dst)
    console.print(f"wrote {n} sightings to {dst}")
