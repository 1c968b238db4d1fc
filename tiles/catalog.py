"""The catalog: dated, registered COGs (scenes) and the sites they cover, in SQLite or PostgreSQL."""

from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import rasterio
from pydantic import AwareDatetime, BaseModel, Field
from rasterio.errors import RasterioError

from tiles.catalog_db import CatalogDB, SceneRow, open_catalog_db
from tiles.errors import NoSceneAtTime, SceneNotFound
from tiles.remote import is_remote, is_url
from tiles.site_registry import SiteRegistry
from tiles.sites import ID_PATTERN
from tiles.storage import gdal_path


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


def scene_row(scene: Scene, record: str | None = None) -> SceneRow:
    """What the database keeps of a scene; ``record``: its JSON as already stored (else dumped)."""
    return SceneRow(
        scene.id,
        scene.datetime.isoformat(),
        scene.datetime.timestamp(),
        record if record is not None else scene.model_dump_json(),
        scene.sites,
    )


class Catalog:
    """Scenes and sites, in the data dir's SQLite file or in PostgreSQL (``tiles.catalog_db``).

    ``database``: a SQLite path, a ``postgresql://`` URL, or an opened ``CatalogDB`` (the app's,
    on its connection pool). ``default_sites`` (the sites file) seeds the sites the first time the
    catalog is opened with it.
    """

    def __init__(
        self, database: Path | str | CatalogDB, data_dir: Path, default_sites: Path | None = None
    ) -> None:
        self.db = open_catalog_db(database)
        self.database = self.db.location
        self.data_dir = Path(data_dir)
        self.sites = SiteRegistry(self.db, default_sites)
        self._record_band_layout()

    def _record_band_layout(self) -> None:
        """Scenes registered before the catalog kept band count and dtype get them from their COG.

        The request checks (a band that does not exist, a nodata the dtype cannot hold) need them.
        Linked remote COGs are left alone: no network at start-up.
        """
        updates = []
        for record in self.db.records_without_bands():
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
            self.db.set_records(updates)

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
            kind = "a linked remote COG" if is_url(scene.path) else "an object in S3"
            raise ValueError(f"scene '{scene.id}' is {kind} ({scene.path}), not a file")
        path = Path(scene.path)
        return path if path.is_absolute() else self.data_dir / path

    def add(self, scene: Scene) -> Scene:
        """Register a scene, replacing one with the same id, in one transaction."""
        self.db.put_scene(*scene_row(scene))
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
        changed: list[Scene] = []

        def change(record: str) -> str | None:
            scene = Scene.model_validate_json(record)
            if scene.version != version:
                return None
            changed.append(scene.model_copy(update=update))
            return changed[0].model_dump_json()

        return changed[0] if self.db.update_record(scene_id, change) is not None else None

    def remove(self, scene_id: str) -> None:
        """Forget a scene (its file is left to the caller)."""
        if not self.db.delete_scene(scene_id):
            raise SceneNotFound(scene_id)

    def get(self, scene_id: str) -> Scene:
        """The scene with that id, or SceneNotFound."""
        record = self.db.record(scene_id)
        if record is None:
            raise SceneNotFound(scene_id)
        return Scene.model_validate_json(record)

    def list(self, site: str | None = None) -> list[Scene]:
        """Scenes in time order, optionally only those covering a site."""
        return [Scene.model_validate_json(r) for r in self.db.records(site)]

    def at(self, site: str, when: datetime | None = None) -> Scene:
        """The scene of a site that was current at ``when``: the latest at or before it."""
        limit = when.timestamp() if when is not None else float("inf")
        record, first = self.db.record_at(site, limit)
        if record is None:
            raise NoSceneAtTime(
                site,
                when or datetime.now(UTC),
                datetime.fromisoformat(first) if first else None,
            )
        return Scene.model_validate_json(record)
