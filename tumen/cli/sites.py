"""``tumen sites add|list|rm|references``: the watched sites, kept in the catalog."""

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from tiles.sites import REFERENCE_LAYERS
from tumen.cli.common import CommandRefused, catalog_of, console, settings_of
from tumen.sites import SiteKind, add_site, parse_bbox, read_references, remove_site, site_document


def sites_add(
    ctx: typer.Context,
    site_id: Annotated[
        str, typer.Argument(metavar="ID", help="Site id: letters, digits, '_', '.', '-'.")
    ],
    name: Annotated[str, typer.Option(help="Name shown in the map and the layers.")],
    bbox: Annotated[str, typer.Option(help="W,S,E,N in degrees (lon/lat, WGS84).")],
    kind: Annotated[
        SiteKind | None,
        typer.Option(help="rail (wagons), port (ships) or border (trains): the chart's kind."),
    ] = None,
    description: Annotated[str, typer.Option(help="What the site is.")] = "",
    references: Annotated[
        Path | None,
        typer.Option(
            help="GeoJSON of reference layers: features with properties.layer = "
            f"{' | '.join(REFERENCE_LAYERS)}."
        ),
    ] = None,
) -> None:
    """Add a site: scenes over its bbox cover it, sightings there may name it, every view lists it."""
    document = site_document(site_id, name, parse_bbox(bbox), kind, description)
    site = add_site(catalog_of(ctx), document, references)
    console.print(
        f"added site [bold]{site.id}[/bold] ({site.name}), bbox {','.join(map(str, site.bbox))}"
    )


def sites_list(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="The site documents as JSON.")] = False,
) -> None:
    """List the sites with their bboxes and how many scenes cover each."""
    catalog = catalog_of(ctx)
    documents = catalog.sites.documents()
    if as_json:
        typer.echo(json.dumps({"sites": list(documents.values())}, ensure_ascii=False, indent=2))
        return
    table = Table("id", "name", "bbox (W,S,E,N)", "main kind", "scenes", "references")
    for site_id, site in catalog.sites.all().items():
        layers = [k for k in REFERENCE_LAYERS if site.references and getattr(site.references, k)]
        table.add_row(
            site_id,
            site.name,
            ",".join(f"{v:g}" for v in site.bbox),
            str(documents[site_id].get("main_kind") or ""),
            str(len(catalog.sites.scenes_of(site_id))),
            ", ".join(layers),
        )
    console.print(table)


def sites_rm(
    ctx: typer.Context,
    site_id: Annotated[str, typer.Argument(metavar="ID", help="The site to remove.")],
) -> None:
    """Remove a site; refused while a scene covers it or a sighting names it."""
    from tumen.db import open_store

    settings = settings_of(ctx)
    remove_site(catalog_of(ctx), open_store(settings), site_id)
    console.print(f"removed site {site_id}")


def sites_references(
    ctx: typer.Context,
    site_id: Annotated[str, typer.Argument(metavar="ID", help="The site.")],
    file: Annotated[
        Path | None,
        typer.Argument(help="GeoJSON of reference layers (properties.layer per feature)."),
    ] = None,
    clear: Annotated[
        bool, typer.Option("--clear", help="Drop the site's reference layers.")
    ] = False,
) -> None:
    """Set (or with --clear drop) a site's reference layers: track centre-lines, water, hard-standing."""
    catalog = catalog_of(ctx)
    if (file is None) == (not clear):
        raise CommandRefused("give a GeoJSON FILE, or --clear (not both)")
    layers = None if file is None else read_references(file, catalog.sites.get(site_id))
    site = catalog.sites.set_references(site_id, layers)
    drawn = [k for k in REFERENCE_LAYERS if site.references and getattr(site.references, k)]
    console.print(f"site {site.id}: reference layers {', '.join(drawn) or 'none'}")
