"""``tumen watch``: poll a STAC API for new images of sites and ingest them as they arrive.

Each poll searches, for each site, the items over its bbox taken since the newest scene of the site
(``tumen stac search``'s search), and registers the ones the catalog does not hold yet exactly as
``tumen stac ingest`` does (bake, then analysis). One line per new item and per site and poll, so the
log says what arrived; the feeds (tumen/feed.py) then show the new scenes and their candidates.
"""

import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import FrameType
from typing import Annotated, Any

import typer
from rasterio.errors import RasterioError

from tiles.catalog import Catalog, Scene
from tiles.sites import Site
from tumen.cli.analyze import analyze_new_scene
from tumen.cli.bake import bake_scenes
from tumen.cli.common import (
    REPORTED_ERRORS,
    CommandRefused,
    catalog_of,
    console,
    err,
    parse_duration,
    settings_of,
)

MIN_INTERVAL = timedelta(minutes=1)
# A site with no scene yet: how far back the first poll looks, unless --since says.
FIRST_LOOK_BACK = timedelta(days=30)
# Items the search may return that the catalog already has (the newest scene's own item, at least).
SEARCH_SLACK = 20
EXIT_POLL_FAILED = 1


def parse_every(text: str) -> timedelta:
    """'30m', '6h', '1d' (or '90s') as a duration; under a minute is refused."""
    every = parse_duration(text, "--every")
    if every < MIN_INTERVAL:
        raise CommandRefused(
            f"--every: {text} is shorter than the minimum of 1 minute (a STAC API is not a stream)"
        )
    return every


def parse_since(text: str | None) -> datetime | None:
    """--since as an aware instant (UTC when it names no offset)."""
    if text is None:
        return None
    try:
        when = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError as exc:
        raise CommandRefused(f"--since: '{text}' is not an ISO 8601 date or date-time") from exc
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _stamp(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def say(text: str, *, failed: bool = False) -> None:
    """One log line, stamped with the time (UTC): stdout, or stderr for what went wrong."""
    (err if failed else console).print(
        f"{_stamp(datetime.now(UTC))} watch: {text}", highlight=False, soft_wrap=True, markup=False
    )


@dataclass
class SitePoll:
    """What one poll did for one site."""

    site: str
    new: list[Scene] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    left: int = 0  # new items beyond --max-items, left for the next poll


@dataclass
class Watcher:
    """The sites, the STAC API and what to do with each new item; ``poll`` is one round."""

    ctx: typer.Context
    site_ids: list[str]
    api: str
    collection: str | None
    max_items: int
    since: datetime | None
    link: bool
    bake: bool
    analyze: bool
    stopping: Callable[[], bool] = lambda: False

    def poll(self) -> list[SitePoll]:
        """Search each site and ingest what is new; failures are logged and reported, never raised."""
        catalog = catalog_of(self.ctx)  # read afresh: another process may have ingested meanwhile
        sites = catalog.sites.all()
        held = catalog.list()
        known = {s.id for s in held} | {s.source_item for s in held if s.source_item}
        results = []
        for site_id in self.site_ids:
            if self.stopping():
                break
            results.append(self._poll_site(catalog, sites, site_id, known))
        return results

    def _window_start(self, catalog: Catalog, site_id: str) -> datetime:
        scenes = catalog.list(site_id)
        if scenes:
            return max(s.datetime for s in scenes)
        return self.since or datetime.now(UTC) - FIRST_LOOK_BACK

    def _poll_site(
        self, catalog: Catalog, sites: dict[str, Site], site_id: str, known: set[str]
    ) -> SitePoll:
        from tiles.stac_source import search

        result = SitePoll(site_id)
        if site_id not in sites:
            result.failures.append(f"site '{site_id}' is no longer in the catalog")
            return result
        when = f"{_stamp(self._window_start(catalog, site_id))}/.."
        try:
            rows = search(
                self.api,
                sites[site_id],
                when,
                collection=self.collection,
                sites=sites,
                limit=self.max_items + SEARCH_SLACK,
            )
        except Exception as exc:  # pystac-client raises per transport/protocol; one line per poll
            result.failures.append(f"STAC search at {self.api} failed ({_brief(exc)})")
            return result
        fresh = [r for r in rows if r["id"] not in known and (r["href"] or "") not in known]
        fresh.sort(
            key=lambda r: r["datetime"] or ""
        )  # oldest first: the window start only advances
        result.left = max(0, len(fresh) - self.max_items)
        for row in fresh[: self.max_items]:
            if self.stopping():
                break
            scene = self._ingest(row, site_id, result)
            if scene is not None:
                known.update({row["id"], scene.id, row["href"] or ""})
                result.new.append(scene)
        return result

    def _ingest(self, row: dict[str, Any], site_id: str, result: SitePoll) -> Scene | None:
        from tiles.stac_source import read_item
        from tumen.cli.stac import register_item

        if not row["href"]:
            result.failures.append(f"item {row['id']} has no self link to read it from")
            return None
        settings, catalog = settings_of(self.ctx), catalog_of(self.ctx)
        try:
            scene = register_item(
                settings, catalog, read_item(row["href"]), row["href"], link=self.link
            )
        except (*REPORTED_ERRORS, RasterioError, OSError) as exc:
            result.failures.append(f"item {row['id']} not ingested: {exc}")
            return None
        say(
            f"{site_id}: new item {row['id']} ({scene.datetime.isoformat()}) registered as scene "
            f"{scene.id} ({', '.join(scene.sites)})" + (" — SYNTHETIC" if scene.synthetic else "")
        )
        if self.bake:
            bake_scenes(self.ctx, [scene])
        if self.analyze:
            analyze_new_scene(settings, catalog, scene)
        return scene


def _brief(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return f"{exc.__class__.__name__}: {text[0][:200]}" if text else exc.__class__.__name__


def report(poll: SitePoll, next_poll: datetime | None) -> None:
    """The poll's line for a site: 'khasan: 1 new scene (ps-1), next poll at …', and its failures."""
    for failure in poll.failures:
        say(f"{poll.site}: {failure}", failed=True)
    n = len(poll.new)
    text = f"{poll.site}: {n} new {'scene' if n == 1 else 'scenes'}"
    if poll.new:
        text += f" ({', '.join(s.id for s in poll.new)})"
    if poll.left:
        text += f", {poll.left} more left for the next poll"
    if next_poll is not None:
        text += f", next poll at {_stamp(next_poll)}"
    say(text, failed=bool(poll.failures) and not poll.new)


@contextmanager
def stop_on_signals() -> Iterator[Callable[[], bool]]:
    """SIGINT and SIGTERM ask the watch to end between polls (a second one ends it at once)."""
    asked = threading.Event()

    def ask(signum: int, frame: FrameType | None) -> None:
        if asked.is_set():
            raise KeyboardInterrupt
        asked.set()
        say(f"{signal.Signals(signum).name}: stopping after this step")

    if threading.current_thread() is not threading.main_thread():
        yield asked.is_set  # signals are the main thread's; a caller elsewhere just runs
        return
    previous = {s: signal.signal(s, ask) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield asked.is_set
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def sleep_until(when: datetime, stopping: Callable[[], bool]) -> None:
    """Wait until ``when``, waking each second to see whether a signal asked to stop."""
    while not stopping():
        left = (when - datetime.now(UTC)).total_seconds()
        if left <= 0:
            return
        time.sleep(min(left, 1.0))


def watch(
    ctx: typer.Context,
    site_ids: Annotated[list[str], typer.Argument(metavar="SITE...", help="Sites to watch.")],
    stac: Annotated[str, typer.Option("--stac", help="STAC API root URL.")],
    every: Annotated[
        str, typer.Option(help="Time between polls: 30m, 6h, 1d (1 minute at least).")
    ] = "6h",
    once: Annotated[
        bool, typer.Option("--once", help="Poll once and exit (non-zero if it failed): for cron.")
    ] = False,
    collection: Annotated[str | None, typer.Option(help="Only this collection.")] = None,
    max_items: Annotated[
        int, typer.Option(min=1, help="Most new items ingested per site and poll (oldest first).")
    ] = 10,
    since: Annotated[
        str | None,
        typer.Option(
            help="For a site with no scene yet: search from this ISO time (default: 30 days ago)."
        ),
    ] = None,
    link: Annotated[
        bool, typer.Option("--link/--copy", help="Read a remote asset in place, or download it.")
    ] = True,
    bake_tiles: Annotated[bool, typer.Option("--bake/--no-bake")] = True,
    run_analysis: Annotated[
        bool,
        typer.Option(
            "--analyze/--no-analyze", help="Find trains, ships and cargo on each new scene."
        ),
    ] = True,
) -> None:
    """Poll a STAC API for new images of sites and ingest each (as `tumen stac ingest`), until stopped."""
    interval = parse_every(every)
    start = parse_since(since)
    sites = catalog_of(ctx).sites.all()
    unknown = [s for s in site_ids if s not in sites]
    if unknown:
        raise CommandRefused(f"unknown site '{unknown[0]}'; known: {', '.join(sites)}")
    with stop_on_signals() as stopping:
        watcher = Watcher(
            ctx,
            list(dict.fromkeys(site_ids)),
            stac,
            collection,
            max_items,
            start,
            link,
            bake_tiles,
            run_analysis,
            stopping,
        )
        while True:
            started = datetime.now(UTC)
            polls = watcher.poll()
            next_poll = None if once else max(started + interval, datetime.now(UTC))
            for poll in polls:
                report(poll, None if stopping() else next_poll)
            if once:
                if any(p.failures for p in polls):
                    raise typer.Exit(EXIT_POLL_FAILED)
                return
            sleep_until(next_poll or started, stopping)
            if stopping():
                say("stopped")
                return
