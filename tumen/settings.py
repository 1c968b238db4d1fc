"""All configuration in one place, read from ``TUMEN_*`` environment variables."""

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PACKAGE_DIR = Path(__file__).resolve().parent


class Settings(BaseSettings):
    """Settings of one tumen instance; build one per app, never at import time."""

    model_config = SettingsConfigDict(env_prefix="TUMEN_", extra="ignore")

    data_dir: Path = Field(
        Path("data"), description="Where COGs, archives and the SQLite file live."
    )
    sites_file: Path = Field(
        PACKAGE_DIR / "sites.json",
        description="The default sites: seeded into the catalog the first time it is opened.",
    )
    web_dir: Path = Field(
        PACKAGE_DIR.parent / "web", description="The map page and its vendored JS."
    )
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    workers: int = Field(1, ge=1, le=64)
    api_key: SecretStr | None = Field(None, description="Key that writes must send as X-API-Key.")
    log_level: Literal["critical", "error", "warning", "info", "debug"] = "info"
    demo_seed: int = Field(20221104, description="Seed of the synthetic demo imagery.")
    max_body_bytes: int = Field(
        1024 * 1024, ge=1024, description="Largest request body accepted (413 beyond)."
    )
    max_vertices: int = Field(
        10_000, ge=4, description="Most positions in a posted geometry (400 beyond)."
    )
    write_rate: int = Field(
        600, ge=0, description="Writes per minute per API key and worker (429 beyond); 0: off."
    )
    tile_cache_mb: int = Field(
        256, ge=0, description="In-process LRU of rendered tiles, per worker."
    )
    gdal_cache_mb: int = Field(
        128,
        ge=8,
        description="GDAL's cache of decompressed COG blocks, per worker (GDAL's default: 5 % of RAM).",
    )
    malloc_arenas: int = Field(
        2,
        ge=0,
        description="glibc malloc arenas per worker (0: glibc's default of 8 per core); few "
        "arenas keep a threaded worker's memory from fragmenting (bench/soak.py).",
    )
    tile_max_age: int = Field(
        31_536_000,
        ge=0,
        description="Cache-Control max-age of a scene's tiles (they never change).",
    )
    latest_max_age: int = Field(
        60, ge=0, description="max-age of a site's 'latest' tiles: a newer scene may arrive."
    )
    max_part_px: int = Field(
        4096,
        ge=256,
        description="Longest side of a bbox/feature crop; larger areas are downsampled.",
    )
    report_max_km2: float = Field(4.0, gt=0, description="Largest area of a report bundle.")
    analysis_max_km2: float = Field(
        25.0, gt=0, description="Largest area of one site the analysis reads from one scene."
    )
    # Publication graphics (issue 14: figure, strip of dates, timelapse).
    figure_max_width: int = Field(
        3000, ge=256, description="Longest side of a figure or strip, in pixels (400 beyond)."
    )
    strip_max_dates: int = Field(12, ge=1, description="Most dates in one strip (400 beyond).")
    timelapse_max_frames: int = Field(
        60, ge=1, description="Most frames (scenes) in one timelapse (400 beyond)."
    )
    timelapse_max_width: int = Field(
        1280, ge=128, description="Longest side of a timelapse frame, in pixels (400 beyond)."
    )
    remote_timeout: float = Field(
        15.0, gt=0, description="Seconds to wait on a remote COG or STAC asset at ingest."
    )
    bake_on_serve: bool = Field(
        True, description="`tumen serve` bakes missing archives behind itself, at low priority."
    )
    bake_workers: int | None = Field(None, ge=1, description="Processes for baking; default: CPUs.")
    # What is new: the Atom feeds (tumen/feed.py).
    feed_entries: int = Field(
        50, ge=1, le=1000, description="Most entries in /feed.atom and a site's feed.atom."
    )
    feed_authority: str = Field(
        "tumen",
        pattern=r"^[A-Za-z0-9@.-]+$",
        description="Authority of the feeds' tag: ids (RFC 4151): a domain or e-mail address of "
        "this deployment, so its entry ids differ from another tumen's and outlive a host name.",
    )
    # More than one machine, object storage (issue 15, S3 part): COGs and archives in S3.
    storage_url: str | None = Field(
        None,
        description="s3://bucket/prefix holding COGs and baked archives (S3 credentials and "
        "endpoint: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_S3_ENDPOINT or "
        "AWS_ENDPOINT_URL, AWS_REGION); unset: the data dir.",
    )

    # More than one machine, PostgreSQL (issue 15, PG part): catalog, sites and sightings shared by
    # every instance (tumen/db.py); `tumen db upgrade` creates and migrates its schema.
    database_url: str | None = Field(
        None,
        description="postgresql://user:password@host:port/dbname holding the catalog, sites and "
        "sightings (PostGIS); unset: the SQLite file in the data dir.",
    )
    db_pool_size: int = Field(
        10, ge=1, le=1000, description="Most PostgreSQL connections one worker holds."
    )
    db_pool_timeout_s: float = Field(
        2.0,
        gt=0,
        description="Seconds a request waits for a free PostgreSQL connection (then 503 with "
        "Retry-After).",
    )

    @field_validator("database_url")
    @classmethod
    def _a_postgres_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("postgresql://", "postgres://")):
            raise ValueError(
                "not a PostgreSQL URL: use postgresql://user:password@host:5432/dbname "
                "(unset it for the SQLite file in the data dir)"
            )
        return value

    @property
    def database(self) -> Path | str:
        """Where the scenes catalog and the sightings are: TUMEN_DATABASE_URL, else the SQLite file."""
        return self.database_url or self.sqlite_file

    @property
    def sqlite_file(self) -> Path:
        """The data dir's SQLite file (used when no TUMEN_DATABASE_URL is set)."""
        return self.data_dir / "tumen.sqlite"

    @property
    def baked_dir(self) -> Path:
        """Folder of the PMTiles archives."""
        return self.data_dir / "baked"

    @property
    def scenes_dir(self) -> Path:
        """Folder of the registered COGs."""
        return self.data_dir / "scenes"
