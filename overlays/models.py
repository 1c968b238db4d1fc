"""The observation (sighting) record as GeoJSON models: what is accepted, what is served."""

from datetime import datetime
from typing import Annotated, Any, Literal, get_args

from geojson_pydantic import Feature, LineString, Point, Polygon
from pydantic import (
    AnyHttpUrl,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

Kind = Literal["locomotive", "wagon", "train", "container", "cargo", "ship", "other"]
KINDS: tuple[Kind, ...] = get_args(Kind)
Precision = Literal["minute", "hour", "day", "month", "range"]
Status = Literal["present", "absent"]
Method = Literal["reported", "manual", "automated"]
Review = Literal["unreviewed", "confirmed", "disputed"]
Geometry = Annotated[Point | LineString | Polygon, Field(discriminator="type")]
SERVER_FIELDS = ("created_at", "updated_at", "version", "scene_removed")
# Set by a review (POST …/items/{id}/review) only: writes of the sighting itself keep them as they are.
REVIEW_FIELDS = ("review", "reviewed_by", "reviewed_at", "review_note")


def initial_review(method: "Method") -> "Review":
    """A person's sighting (manual, reported) is confirmed as made; an automated one awaits review."""
    return "unreviewed" if method == "automated" else "confirmed"


class Source(BaseModel):
    """Where a sighting was published: outlet, title, date (YYYY, YYYY-MM or YYYY-MM-DD), URL."""

    model_config = ConfigDict(extra="forbid")

    outlet: str = Field(min_length=1, max_length=200)
    title: str | None = Field(None, max_length=500)
    published: str | None = Field(None, pattern=r"^\d{4}(-\d{2}(-\d{2})?)?$")
    url: AnyHttpUrl | None = None


class ObservationProps(BaseModel):
    """What was seen, when, where, how many or how long, and who said so."""

    model_config = ConfigDict(extra="forbid")

    site: str = Field(min_length=1, max_length=64)
    scene_id: str | None = Field(None, max_length=128)
    observed_at: AwareDatetime
    time_precision: Precision = "minute"
    observed_until: AwareDatetime | None = None
    kind: Kind
    count: int | None = Field(None, ge=0, le=100_000)
    count_approx: bool = False
    length_m: float | None = Field(None, gt=0, le=100_000)
    length_approx: bool = False
    area_m2: float | None = Field(None, gt=0, le=100_000_000, description="area of a cargo area")
    status: Status = "present"
    description: str = Field("", max_length=5000)
    sources: list[Source] = Field(default_factory=list, max_length=50)
    method: Method = "manual"
    confidence: float | None = Field(None, ge=0, le=1)
    track_id: str | None = Field(None, pattern=r"^[A-Za-z0-9_.:-]{1,64}$")
    review: Review | None = Field(
        None,
        description="whether a person has checked it: automated candidates start unreviewed, "
        "manual and reported sightings confirmed; changed by POST …/items/{id}/review only",
    )
    reviewed_by: str | None = Field(None, max_length=100, description="who reviewed it last")
    reviewed_at: AwareDatetime | None = Field(None, description="when it was reviewed last")
    review_note: str | None = Field(None, max_length=2000, description="the reviewer's reason")
    # Kept by the server; accepted (QGIS sends them back on edit) and ignored on input.
    created_at: datetime | None = None
    updated_at: datetime | None = None
    version: int | None = None
    scene_removed: bool | None = None

    @model_validator(mode="before")
    @classmethod
    def _nulls_mean_defaults(cls, data: Any) -> Any:
        """GIS clients (QGIS) send every field, unset ones as null: null means 'the default' here."""
        if isinstance(data, dict):
            defaults = {
                name
                for name, f in cls.model_fields.items()
                if f.default is not None or f.default_factory
            }
            return {k: v for k, v in data.items() if not (v is None and k in defaults)}
        return data

    @model_validator(mode="after")
    def _consistent(self) -> "ObservationProps":
        if self.method == "reported" and not self.sources:
            raise ValueError("sources: a reported sighting needs at least one source")
        if self.observed_until is not None and self.observed_until <= self.observed_at:
            raise ValueError("observed_until: must be after observed_at")
        if self.time_precision == "range" and self.observed_until is None:
            raise ValueError("observed_until: required when time_precision is 'range'")
        return self


class ReviewIn(BaseModel):
    """A person's verdict on a sighting: confirmed, disputed (with a reason), or back to unreviewed."""

    model_config = ConfigDict(extra="forbid")

    review: Review
    note: str | None = Field(None, max_length=2000, description="the reason; required to dispute")
    by: str | None = Field(
        None, min_length=1, max_length=100, description="who reviews (default: the API key holder)"
    )

    @model_validator(mode="after")
    def _reason(self) -> "ReviewIn":
        if self.review == "disputed" and not (self.note or "").strip():
            raise ValueError("note: a dispute needs a reason")
        return self


class ObservationIn(Feature[Geometry, ObservationProps]):
    """A sighting as a client sends it (POST, PUT, import)."""

    @field_validator("geometry")
    @classmethod
    def _in_range(cls, geometry: Any) -> Any:
        if geometry is None:
            raise ValueError("geometry: required (Point, LineString or Polygon)")
        for lon, lat, *_ in _positions(geometry.coordinates):
            if not (-180 <= lon <= 180 and -90 <= lat <= 90):
                raise ValueError(f"geometry: coordinate ({lon}, {lat}) is out of range")
        return geometry


def _positions(coords: Any) -> list[tuple[float, ...]]:
    if coords and isinstance(coords[0], int | float):
        return [tuple(coords)]
    out: list[tuple[float, ...]] = []
    for c in coords:
        out.extend(_positions(c))
    return out


class StoredObservation(BaseModel):
    """A sighting as the store keeps it: id, geometry (GeoJSON dict), properties with server fields."""

    id: str
    geometry: dict[str, Any]
    properties: dict[str, Any]
    version: int

    def feature(self, links: list[dict[str, str]] | None = None) -> dict[str, Any]:
        """The GeoJSON Feature served for this record."""
        doc: dict[str, Any] = {
            "type": "Feature",
            "id": self.id,
            "geometry": self.geometry,
            "properties": self.properties,
        }
        if links:
            doc["links"] = links
        return doc
