"""Work behind the server, so `tumen serve` answers at once: analysis, then baking.

Tiles render dynamically while one low-priority process first analyses the scenes whose analysis is
pending (the demo's), then bakes every scene whose archive is missing or stale, newest first.

Each archive is written under a temporary name and renamed when whole, then the catalog records it,
so the server uses it from its next tile on and never sees a half-written file.
"""

import fcntl
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rasterio.errors import RasterioError

from tiles.bake import bake_scene
from tiles.catalog import Catalog, Scene
from tiles.errors import StorageUnavailable
from tiles.storage import open_storage
from tumen.settings import Settings

logger = logging.getLogger("tumen.bake")
analysis_log = logging.getLogger("tumen.analysis")


def _unbaked(scene: Scene) -> bool:
    return not scene.is_baked


def _unanalysed(scene: Scene) -> bool:
    return scene.analysis == "pending"


def _newest_first(catalog: Catalog, wanted: Callable[[Scene], bool]) -> list[Scene]:
    """The scenes that need the work, newest first (the map opens the latest scene)."""
    return sorted(filter(wanted, catalog.list()), key=lambda s: s.datetime, reverse=True)


def pending(catalog: Catalog) -> list[Scene]:
    """Scenes without a current archive, newest first."""
    return _newest_first(catalog, _unbaked)


def analysis_pending(catalog: Catalog) -> list[Scene]:
    """Scenes registered to be analysed behind the server (the demo's), newest first."""
    return _newest_first(catalog, _unanalysed)


def start_background_bake(settings: Settings) -> subprocess.Popen[bytes] | None:
    """Start `tumen bake --pending --background` beside the server when a scene needs work."""
    catalog = Catalog(settings.database, settings.data_dir, settings.sites_file)
    if not _newest_first(catalog, lambda s: _unbaked(s) or _unanalysed(s)):
        return None
    # Settings travel as TUMEN_* variables: the child reads the same ones this process did.
    env = {**os.environ, "TUMEN_DATA_DIR": str(settings.data_dir)}
    if settings.storage_url:
        env["TUMEN_STORAGE_URL"] = settings.storage_url
    if settings.database_url:
        env["TUMEN_DATABASE_URL"] = settings.database_url
    command = [sys.executable, "-m", "tumen", "bake", "--pending", "--background"]
    # Niced from its first instruction: importing GDAL and numpy costs CPU too.
    process = subprocess.Popen(command, env=env, preexec_fn=_lowest_priority)
    # Reaped when it ends, so a finished baker leaves no zombie beside the server.
    threading.Thread(target=process.wait, name="baker-reaper", daemon=True).start()
    return process


def _lowest_priority() -> None:
    os.nice(19 - os.nice(0))


def stop_background_bake(process: subprocess.Popen[bytes] | None) -> None:
    """Stop the baker with the server: its unfinished archive is discarded, none is half-used."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def exclusive(settings: Settings) -> Iterator[bool]:
    """One background baker per data dir: True when this process holds the lock."""
    settings.baked_dir.mkdir(parents=True, exist_ok=True)
    with open(settings.baked_dir / ".bake.lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True


class ParentGone(Exception):
    """The server that started this baker has exited (even by kill -9)."""


def bake_in_background(settings: Settings) -> int:
    """Bake every pending scene in this process at the lowest CPU priority, logging progress.

    Scenes ingested meanwhile are picked up; a scene that fails is logged and skipped.
    Returns the number of archives written.
    """
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(levelname)s:     %(name)s: %(message)s"
    )
    _lowest_priority()
    parent = os.getppid()

    def check_parent() -> None:
        if os.getppid() != parent:
            raise ParentGone

    catalog = Catalog(settings.database, settings.data_dir, settings.sites_file)
    storage = open_storage(settings.storage_url, settings.data_dir)
    written, failed = 0, set()
    with exclusive(settings) as mine:
        if not mine:
            logger.info("another baker is at work on %s; leaving it to it", settings.baked_dir)
            return 0
        if not analyze_behind(settings, catalog, parent):
            return written
        while todo := [s for s in pending(catalog) if s.id not in failed]:
            if os.getppid() != parent:
                logger.info("the server has stopped; baking stops too")
                return written
            scene = todo[0]
            started = time.monotonic()
            shown = [0]

            def progress(
                n: int, total: int, scene: Scene = scene, shown: list[int] = shown
            ) -> None:
                check_parent()
                shown[0] += n
                logger.debug("%s: %d/%d tiles", scene.id, shown[0], total)

            logger.info("baking %s (%d scenes to go)", scene.id, len(todo))
            try:
                baked = bake_scene(catalog, scene, workers=1, advance=progress, storage=storage)
            except ParentGone:
                logger.info("the server has stopped; baking stops too")
                return written
            except (RasterioError, OSError, ValueError, StorageUnavailable) as err:
                logger.warning("could not bake %s: %s (its tiles stay dynamic)", scene.id, err)
                failed.add(scene.id)
                continue
            if baked is None:
                logger.info("%s changed while it baked; baking it again", scene.id)
                continue
            written += 1
            logger.info(
                "baked %s: %d tiles (%s) in %.1f s; served from the archive from now on",
                scene.id,
                shown[0],
                baked.tile_format,
                time.monotonic() - started,
            )
    logger.info("every scene is baked (%d archives written)", written)
    return written


def analyze_behind(settings: Settings, catalog: Catalog, parent: int) -> bool:
    """Analyse every scene whose analysis is pending; False when the server stopped meanwhile.

    A scene that cannot be analysed (no baseline to compare with, unreadable) is logged and marked
    skipped, so it is not tried again at every start.
    """
    from tumen.analyze import analyze_scene
    from tumen.db import open_store
    from tumen.errors import AnalysisRefused

    store, sites = open_store(settings), catalog.sites.all()
    for scene in analysis_pending(catalog):
        if os.getppid() != parent:
            analysis_log.info("the server has stopped; the analysis stops too")
            return False
        try:
            run = analyze_scene(
                catalog,
                store,
                sites,
                scene.id,
                actor="tumen serve",
                max_km2=settings.analysis_max_km2,
            )
        except (AnalysisRefused, RasterioError, OSError) as err:
            analysis_log.warning("could not analyse %s: %s", scene.id, err)
            catalog.mark_analysis(scene.id, scene.version, "skipped")
            continue
        analysis_log.info("analysed %s", run.summary())
    return True
