"""The catalog: dated, registered COGs (scenes) and the sites they cover, in the SQLite data file."""

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import rasterio
from pydantic import AwareDatetime, BaseModel, Field
from rasterio.errors import RasterioError

from tiles.errors import NoSceneAtTime, SceneNotFound
from tiles.remote import is_remote
from tiles.site_registry import SiteRegistry
from tiles.sites import ID_PATTERN
from tiles.storage import gdal_path

SCHEMA = """
CREATE TABLE IF NOT EXISTS scenes (
    id          TEXT PRIMARY KEY,
    datetime    TEXT NOT NULL,     -- ISO 8601 with the offset it was given in
    epoch       REAL NOT NULL,     -- the same instant as UTC seconds, for ordering
    record      TEXT NOT NULL      -- the whole Scene as JSON
);
CREATE TABLE IF NOT EXISTS scene_sites (
    scene_id    TEXT NOT NULL REFERENCES scenes(id) ON DELETE CASCADE,
    site_id     TEXT NOT NULL,
    PRIMARY KEY (site_id, scene_id)
);
CREATE INDEX IF NOT EXISTS scenes_epoch ON scenes(epoch);
"""


class Scene(BaseModel):
    """One dated image of one or more sites, as registered in the catalog."""

    id: str = Field(pattern=ID_PATTERN)
    sites: list[str]
    datetime: AwareDatetime
    gsd: float = Field(gt=0, description="Ground sample distance in metres.")
    crs: str
    bounds: tuple[float, float, float, float] = Field(description="In the scene's own CRS.")
    geographic_bounds: tuple[float, float, float, float] = Field(description="WGS84 lon/lat.")
    width: int
    height: int
    bands: int | None = Field(None, description="Band count (None: registered before it was kept).")
    dtype: str | None = Field(None, description="Data type of the bands, e.g. uint8, uint16.")
    path: str = Field(
        description="COG path, relative to the data dir when inside it; or a URL (https://, s3://)."
    )
    synthetic: bool = False
    baseline: bool = Field(
        False, description="The site's reference scene: what the analysis compares new scenes with."
    )
    analysis: Literal["pending", "done", "skipped"] = Field(
        "skipped",
        description="Whether trains, ships and cargo were looked for: pending scenes are analysed "
        "behind `tumen serve`, done ones were, skipped ones are left to `tumen analyze`.",
    )
    time_precision: Literal["minute", "hour", "day"] = Field(
        "minute", description="How exactly `datetime` is known (a report may give the day only)."
    )
    provider: str
    licence: str
    description: str = ""
    version: str = Field(description="Content hash of the COG; changes when the file does.")
    tile_format: str | None = Field(
        None, description="Format of the baked PMTiles archive (jpg, webp or png); None: not baked."
    )
    baked_version: str | None = Field(None, description="Scene version the archive was baked from.")
    archive: str | None = Field(
        None,
        description="Where the baked archive is in object storage (s3://…, an immutable key); "
        "None: baked/{id}.pmtiles in the data dir.",
    )
    source_item: str | None = Field(
        None, description="Self link of the STAC Item it was ingested from."
    )
    render: dict[str, Any] = Field(
        default_factory=dict,
        description="Defaults that make tiles look right with no query: bidx (RGB bands), rescale.",
    )
    registered_at: AwareDatetime = Field(default_factory=lambda: datetime.now(UTC))

    @property
    def is_baked(self) -> bool:
        """Whether the scene has an archive baked from its current version (the file may still be gone)."""
        return self.tile_format is not None and self.baked_version == self.version


class Catalog:
    """Scenes and sites in SQLite; one short connection per call, so threads and workers share the file.

    ``default_sites`` (the sites file) seeds the sites the first time the catalog is opened with it.
    """

    def __init__(self, database: Path, data_dir: Path, default_sites: Path | None = None) -> None:
        self.database = Path(database)
        self.data_dir = Path(data_dir)
        self.database.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(SCHEMA)
        self.sites = SiteRegistry(self._connect, default_sites)
        self._record_band_layout()

    def _record_band_layout(self) -> None:
        """Scenes registered before the catalog kept band count and dtype get them from their COG.

        The request checks (a band that does not exist, a nodata the dtype cannot hold) need them.
        Linked remote COGs are left alone: no network at start-up.
        """
        with self._connect() as db:
            rows = db.execute(
                "SELECT record FROM scenes WHERE json_extract(record, '$.bands') IS NULL"
            ).fetchall()
        updates = []
        for (record,) in rows:
            scene = Scene.model_validate_json(record)
            if is_remote(scene.path):
                continue
            try:
                with rasterio.open(self.local_path(scene)) as ds:
                    update = {"bands": ds.count, "dtype": ds.dtypes[0]}
            except (RasterioError, OSError):
                continue  # a missing COG is reported when a request needs it
            updates.append((scene.model_copy(update=update).model_dump_json(), scene.id))
        if updates:
            with self._connect() as db:
                db.executemany("UPDATE scenes SET record = ? WHERE id = ?", updates)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.database, timeout=30)
        db.execute("PRAGMA foreign_keys=ON")
        try:
            with db:
                yield db
        finally:
            db.close()

    def location(self, scene: Scene) -> str:
        """What GDAL opens for a scene's COG: a path, a linked COG's URL, or /vsis3/bucket/key.

        Every read of a scene's pixels goes through this (tiles, bake, report).
        """
        if is_remote(scene.path):
            return gdal_path(scene.path)
        return str(self.local_path(scene))

    def local_path(self, scene: Scene) -> Path:
        """The file of a scene's COG on this machine (data dir joined); ValueError for a URL.

        For what handles the file itself (re-ingest, removal); to read pixels use ``location``.
        """
        if is_remote(scene.path):
            raise ValueError(f"scene '{scene.id}' is read from {scene.path}, not from a file")
        path = Path(scene.path)
        return path if path.is_absolute() else self.data_dir / path

    def add(self, scene: Scene) -> Scene:
        """Register a scene, replacing one with the same id, in one transaction."""
        with self._connect() as db:
            db.execute("DELETE FROM scenes WHERE id = ?", (scene.id,))
            db.execute(
                "INSERT INTO scenes (id, datetime, epoch, record) VALUES (?, ?, ?, ?)",
                (
                    scene.id,
                    scene.datetime.isoformat(),
                    scene.datetime.timestamp(),
                    scene.model_dump_json(),
                ),
            )
            db.executemany(
                "INSERT INTO scene_sites (scene_id, site_id) VALUES (?, ?)",
                [(scene.id, site) for site in scene.sites],
            )
        return scene

    def mark_baked(
        self, scene_id: str, version: str, tile_format: str, archive: str | None = None
    ) -> Scene | None:
        """Record an archive baked from ``version``, if that is still the scene's version.

        ``archive``: its location in object storage (None: the data dir's baked/{id}.pmtiles).
        None (nothing written) when the scene was removed or re-ingested meanwhile, so a bake that
        raced a change never points the catalog at stale tiles.
        """
        return self._update_if(
            scene_id, version, tile_format=tile_format, baked_version=version, archive=archive
        )

    def relocate(self, scene_id: str, version: str, path: str) -> Scene | None:
        """Point a scene at a copy of its COG elsewhere (``tumen storage migrate``), same version.

        None when the scene changed meanwhile: the copy is then not the scene's content.
        """
        return self._update_if(scene_id, version, path=path)

    def mark_analysis(
        self, scene_id: str, version: str, state: Literal["pending", "done", "skipped"]
    ) -> Scene | None:
        """Record where the analysis of ``version`` stands, if that is still the scene's version."""
        return self._update_if(scene_id, version, analysis=state)

    def _update_if(self, scene_id: str, version: str, **update: Any) -> Scene | None:
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            row = db.execute("SELECT record FROM scenes WHERE id = ?", (scene_id,)).fetchone()
            if row is None:
                return None
            scene = Scene.model_validate_json(row[0])
            if scene.version != version:
                return None
            scene = scene.model_copy(update=update)
            db.execute(
                "UPDATE scenes SET record = ? WHERE id = ?", (scene.model_dump_json(), scene_id)
            )
        return scene

    def remove(self, scene_id: str) -> None:
        """Forget a scene (its file is left to the caller)."""
        with self._connect() as db:
            if db.execute("DELETE FROM scenes WHERE id = ?", (scene_id,)).rowcount == 0:
                raise SceneNotFound(scene_id)

    def get(self, scene_id: str) -> Scene:
        """The scene with that id, or SceneNotFound."""
        with self._connect() as db:
            row = db.execute("SELECT record FROM scenes WHERE id = ?", (scene_id,)).fetchone()
        if row is None:
            raise SceneNotFound(scene_id)
        return Scene.model_validate_json(row[0])

    def list(self, site: str | None = None) -> list[Scene]:
        """Scenes in time order, optionally only those covering a site."""
        with self._connect() as db:
            if site is None:
                rows = db.execute("SELECT record FROM scenes ORDER BY epoch, id").fetchall()
            else:
                rows = db.execute(
                    "SELECT s.record FROM scenes s JOIN scene_sites ss ON ss.scene_id = s.id "
                    "WHERE ss.site_id = ? ORDER BY s.epoch, s.id",
                    (site,),
                ).fetchall()
        return [Scene.model_validate_json(r[0]) for r in rows]

    def at(self, site: str, when: datetime | None = None) -> Scene:
        """The scene of a site that was current at ``when``: the latest at or before it."""
        query = (
            "SELECT s.record FROM scenes s JOIN scene_sites ss ON ss.scene_id = s.id "
            "WHERE ss.site_id = ? AND s.epoch <= ? ORDER BY s.epoch DESC, s.id DESC LIMIT 1"
        )
        limit = when.timestamp() if when is not None else float("inf")
        with self._connect() as db:
            row = db.execute(query, (site, limit)).fetchone()
            if row is None:
                first = db.execute(
                    "SELECT s.datetime FROM scenes s JOIN scene_sites ss ON ss.scene_id = s.id "
                    "WHERE ss.site_id = ? ORDER BY s.epoch LIMIT 1",
                    (site,),
                ).fetchone()
        if row is None:
            raise NoSceneAtTime(
                site,
                when or datetime.now(UTC),
                datetime.fromisoformat(first[0]) if first else None,
            )
        return Scene.model_validate_json(row[0])
