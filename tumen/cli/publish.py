"""``tumen figure``, ``tumen strip``, ``tumen timelapse``: the publication graphics, as the routes make them."""

from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.progress import Progress

from tumen.cli.common import catalog_of, console, settings_of

BboxOption = Annotated[str, typer.Option(help="minlon,minlat,maxlon,maxlat")]


def _write(out: Path | None, made_filename: str, body: bytes) -> Path:
    dst = out or Path(made_filename)
    dst.write_bytes(body)
    return dst


def figure(
    ctx: typer.Context,
    site: Annotated[str, typer.Argument(help="Site id.")],
    bbox: BboxOption,
    when: Annotated[
        str | None, typer.Option("--datetime", help="The scene current then; default latest.")
    ] = None,
    width: Annotated[int, typer.Option(help="Pixels across (TUMEN_FIGURE_MAX_WIDTH).")] = 1600,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="PNG file to write.")] = None,
) -> None:
    """Write the publication figure: confirmed sightings, scale bar, north arrow, date, credit."""
    from overlays.params import parse_bbox
    from tiles.times import parse_datetime
    from tumen.db import open_store
    from tumen.publication import PublishLimits, build_figure, site_of

    settings, catalog = settings_of(ctx), catalog_of(ctx)
    area = parse_bbox(bbox)
    assert area is not None
    made = build_figure(
        catalog,
        open_store(settings),
        site_of(catalog.sites.all(), site),
        area,
        parse_datetime(when),
        width,
        PublishLimits.of(settings),
    )
    dst = _write(out, made.filename, made.body)
    console.print(f"wrote {dst} (scene {made.scenes[0]})", highlight=False, soft_wrap=True)


def strip(
    ctx: typer.Context,
    site: Annotated[str, typer.Argument(help="Site id.")],
    bbox: BboxOption,
    dates: Annotated[str, typer.Option(help="Comma-separated days (YYYY-MM-DD) or ISO datetimes.")],
    width: Annotated[int, typer.Option(help="Pixels across (TUMEN_FIGURE_MAX_WIDTH).")] = 1600,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="PNG file to write.")] = None,
) -> None:
    """Write the same area on each date side by side, each with its date and confirmed counts."""
    from overlays.params import parse_bbox
    from tumen.db import open_store
    from tumen.publication import PublishLimits, build_strip, site_of

    settings, catalog = settings_of(ctx), catalog_of(ctx)
    area = parse_bbox(bbox)
    assert area is not None
    made = build_strip(
        catalog,
        open_store(settings),
        site_of(catalog.sites.all(), site),
        area,
        dates,
        width,
        PublishLimits.of(settings),
    )
    dst = _write(out, made.filename, made.body)
    console.print(f"wrote {dst} (scenes {', '.join(made.scenes)})", highlight=False, soft_wrap=True)


def timelapse(
    ctx: typer.Context,
    site: Annotated[str, typer.Argument(help="Site id.")],
    bbox: BboxOption,
    start: Annotated[
        str | None, typer.Option("--from", help="First day (YYYY-MM-DD) or instant.")
    ] = None,
    end: Annotated[str | None, typer.Option("--to", help="Last day or instant.")] = None,
    fmt: Annotated[
        Literal["gif", "mp4"], typer.Option("--format", help="gif (Pillow) or mp4 (H.264).")
    ] = "gif",
    sightings: Annotated[
        bool, typer.Option("--sightings/--no-sightings", help="Draw the confirmed sightings.")
    ] = False,
    width: Annotated[int, typer.Option(help="Pixels across (TUMEN_TIMELAPSE_MAX_WIDTH).")] = 800,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="File to write.")] = None,
) -> None:
    """Write a timelapse of an area: one frame per scene that covers it, date burned in."""
    from overlays.params import parse_bbox
    from tiles.catalog import Scene
    from tumen.db import open_store
    from tumen.publication import PublishLimits, build_timelapse, site_of

    settings, catalog = settings_of(ctx), catalog_of(ctx)
    area = parse_bbox(bbox)
    assert area is not None
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("reading scenes", total=None)

        def advance(scene: Scene, total: int) -> None:
            progress.update(task, total=total, advance=1, description=f"read {scene.id}")

        made = build_timelapse(
            catalog,
            open_store(settings),
            site_of(catalog.sites.all(), site),
            area,
            start,
            end,
            fmt,
            width,
            PublishLimits.of(settings),
            sightings=sightings,
            on_frame=advance,
        )
    dst = _write(out, made.filename, made.body)
    console.print(
        f"wrote {dst}: {len(made.scenes)} frames ({', '.join(made.scenes)})",
        highlight=False,
        soft_wrap=True,
    )
    for line in made.dropped:
        console.print(f"  dropped {line}", highlight=False, soft_wrap=True)
