"""The ``tumen`` command: serve, build the demo, scenes, sites, sightings, reports.

The commands live by group in this package's modules and are registered here, in help order. The
settings are read once, by the callback; a domain error becomes ``error: …`` and exit code 2 in one
place (``ReportingGroup``).
"""

import typer
from pydantic import ValidationError

from tumen.cli.analyze import analyze
from tumen.cli.bake import bake, export_tiles_cmd
from tumen.cli.common import CommandRefused, ReportingGroup
from tumen.cli.db import db_import, db_status, db_upgrade
from tumen.cli.prune import storage_prune
from tumen.cli.publish import figure, strip, timelapse
from tumen.cli.report import report
from tumen.cli.scenes import ingest, scenes_list, scenes_rm
from tumen.cli.serve import demo, serve
from tumen.cli.sightings import sightings_export, sightings_import
from tumen.cli.sites import sites_add, sites_list, sites_references, sites_rm
from tumen.cli.stac import stac_ingest, stac_search
from tumen.cli.storage import storage_migrate
from tumen.cli.watch import watch
from tumen.settings import Settings

app = typer.Typer(
    cls=ReportingGroup, help="tumen: dated imagery of the DPRK–Russia border, served as tiles."
)
scenes_app = typer.Typer(help="The scenes catalog.")
stac_app = typer.Typer(help="Find imagery in STAC catalogs and register it.")
sightings_app = typer.Typer(help="The sightings (observations).")
sites_app = typer.Typer(help="The watched sites (kept in the catalog; tumen/sites.json seeds it).")
app.add_typer(scenes_app, name="scenes")
app.add_typer(sites_app, name="sites")
app.add_typer(stac_app, name="stac")
app.add_typer(sightings_app, name="sightings")
db_app = typer.Typer(help="The schema of the PostgreSQL database of TUMEN_DATABASE_URL.")
app.add_typer(db_app, name="db")
storage_app = typer.Typer(help="Object storage of COGs and archives (TUMEN_STORAGE_URL).")
app.add_typer(storage_app, name="storage")


@app.callback()
def read_settings(ctx: typer.Context) -> None:
    """Read the TUMEN_* settings once; every command takes them from the context.

    A setting that cannot be used is one line naming its variable (and exit code 2).
    """
    try:
        ctx.obj = Settings()
    except ValidationError as exc:
        problems = [
            f"TUMEN_{'_'.join(str(p) for p in e['loc']).upper()}: "
            + e["msg"].removeprefix("Value error, ")
            for e in exc.errors()
        ]
        raise CommandRefused("; ".join(problems)) from exc


app.command()(serve)
app.command()(demo)
scenes_app.command("list")(scenes_list)
app.command()(bake)
scenes_app.command("rm")(scenes_rm)
app.command("export-tiles")(export_tiles_cmd)
app.command()(ingest)
stac_app.command("search")(stac_search)
stac_app.command("ingest")(stac_ingest)
sites_app.command("add")(sites_add)
sites_app.command("list")(sites_list)
sites_app.command("rm")(sites_rm)
sites_app.command("references")(sites_references)
sightings_app.command("import")(sightings_import)
sightings_app.command("export")(sightings_export)
app.command()(report)
app.command()(figure)  # publication graphics (tumen/cli/publish.py)
app.command()(strip)
app.command()(timelapse)
app.command()(analyze)
app.command()(watch)  # what is new: poll a STAC API (tumen/cli/watch.py)
db_app.command("upgrade")(db_upgrade)  # PostgreSQL schema (tumen/cli/db.py)
db_app.command("status")(db_status)
db_app.command("import")(db_import)  # a one-machine tumen's SQLite file into PostgreSQL
storage_app.command("migrate")(storage_migrate)  # object storage (tumen/cli/storage.py)
storage_app.command("prune")(storage_prune)  # superseded keys (tumen/cli/prune.py)


def main() -> None:
    """Entry point of the ``tumen`` script and of ``python -m tumen``."""
    app()
