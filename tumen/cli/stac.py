"""``tumen stac search|ingest``: find imagery in STAC catalogs and register it."""

from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from tiles.catalog import Catalog, Scene
from tiles.ingest import Registration
from tumen.cli.analyze import analyze_new_scene
from tumen.cli.bake import bake_scenes
from tumen.cli.common import CommandRefused, catalog_of, console, settings_of
from tumen.cli.scenes import register_raster
from tumen.settings import Settings

if TYPE_CHECKING:
    import pystac


def stac_search(
    ctx: typer.Context,
    api: Annotated[str, typer.Option(help="STAC API root URL.")],
    site: Annotated[str, typer.Option(help="Site id.")],
    when: Annotated[str, typer.Option("--datetime", help="RFC 3339 instant or range a/b.")],
    collection: Annotated[str | None, typer.Option(help="Only this collection.")] = None,
    max_cloud: Annotated[float | None, typer.Option(help="Largest eo:cloud_cover, %.")] = None,
) -> None:
    """List the items over a site in a time range: date, gsd, cloud cover and which sites they cover."""
    from tiles.stac_source import search

    sites = catalog_of(ctx).sites.all()
    if site not in sites:
        raise CommandRefused(f"unknown site '{site}'; known: {', '.join(sites)}")
    try:
        rows = search(
            api, sites[site], when, collection=collection, max_cloud=max_cloud, sites=sites
        )
    except Exception as exc:  # pystac-client raises per transport/protocol; report one line
        raise CommandRefused(f"{api}: search failed ({exc.__class__.__name__}: {exc})") from exc
    table = Table("id", "datetime", "gsd (m)", "cloud %", "sites", "item")
    for column in table.columns:
        column.no_wrap = True
    for r in rows:
        table.add_row(
            r["id"],
            r["datetime"] or "",
            str(r["gsd"] or ""),
            str(r["cloud"] if r["cloud"] is not None else ""),
            ",".join(r["sites"]),
            r["href"] or "",
        )
    console.print(table)
    console.print(f"{len(rows)} items")


def stac_ingest(
    ctx: typer.Context,
    item: Annotated[str, typer.Argument(help="URL or file of a STAC Item.")],
    asset: Annotated[
        str | None, typer.Option(help="Asset to register; default visual or first raster.")
    ] = None,
    site: Annotated[str | None, typer.Option(help="Site; default from the footprint.")] = None,
    link: Annotated[
        bool, typer.Option("--link/--copy", help="Read a remote asset in place, or download it.")
    ] = True,
    bake_tiles: Annotated[bool, typer.Option("--bake/--no-bake")] = True,
    run_analysis: Annotated[
        bool,
        typer.Option(
            "--analyze/--no-analyze", help="Find trains, ships and cargo on it afterwards."
        ),
    ] = True,
) -> None:
    """Register an item's raster asset with the item's datetime, provider and licence."""
    from tiles.stac_source import read_item

    settings, catalog = settings_of(ctx), catalog_of(ctx)
    stac_item = read_item(item)
    scene = register_item(settings, catalog, stac_item, item, asset=asset, site=site, link=link)
    console.print(
        f"registered STAC item {stac_item.id} as scene [bold]{scene.id}[/bold] ({', '.join(scene.sites)})"
    )
    if bake_tiles:
        bake_scenes(ctx, [scene])
    if run_analysis:
        analyze_new_scene(settings, catalog, scene)


def register_item(
    settings: Settings,
    catalog: Catalog,
    stac_item: "pystac.Item",
    location: str,
    *,
    asset: str | None = None,
    site: str | None = None,
    link: bool = True,
) -> Scene:
    """Register a STAC item's raster asset as a scene (``tumen stac ingest`` and ``tumen watch``).

    The scene takes the item's id, datetime, provider and licence, and keeps the item's self link
    (else ``location``, where it was read from) as its source.
    """
    from tiles.stac_source import item_facts, raster_asset

    _, chosen = raster_asset(stac_item, asset)
    facts = item_facts(stac_item)
    registration = Registration(
        catalog=catalog,
        sites=catalog.sites.all(),
        provider=facts["provider"],
        licence=facts["licence"],
        description=facts["description"],
        site=site,
        scene_id=stac_item.id,
        when=facts["when"],
    )
    href = chosen.get_absolute_href() or chosen.href
    scene = register_raster(settings, href, registration, link=link)
    source = stac_item.get_self_href() or location
    return catalog.add(scene.model_copy(update={"source_item": source}))
