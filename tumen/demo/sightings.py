"""The demo's sightings: every report of reference/sightings.md as an observation record.

Positions and scene ids come from the drawn objects (episodes.py), so a sighting sits on what its scene
shows. Each record cites its report; the sources' own caveats stay with their sightings.
"""

from typing import Any

from shapely.geometry import mapping

from overlays.models import ObservationIn
from overlays.sqlite_store import SQLiteStore
from tumen.demo import layout as L
from tumen.demo.episodes import objects_for_scene

S38_1 = {
    "outlet": "38 North (Stimson Center)",
    "title": "First Traffic Observed on North Korea-Russia Railway Link in Several Years",
    "published": "2022-11",
    "url": "https://www.38north.org/2022/11/first-traffic-observed-on-north-korea-russia-railway-link-in-several-years/",
}
S38_2 = {
    "outlet": "38 North (Stimson Center)",
    "title": "A North Korean Rail Yard Near Russia Springs to Life",
    "published": "2022-12",
    "url": "https://www.38north.org/2022/12/a-north-korean-rail-yard-near-russia-springs-to-life/",
}
CSIS = {
    "outlet": "CSIS Beyond Parallel",
    "title": "Dramatic Increase in DPRK-Russia Border Rail Traffic After Kim-Putin Summit",
    "published": "2023-10",
    "url": "https://beyondparallel.csis.org/dramatic-increase-in-dprk-russia-border-rail-traffic-after-kim-putin-summit/",
}


def src(outlet: str, published: str, title: str | None = None) -> dict[str, Any]:
    """A source known by its outlet and month (no URL in the reference)."""
    return {"outlet": outlet, "published": published} | ({"title": title} if title else {})


TV2 = src("TV 2 (Norway)", "2022-11")
RAILWAY_SUPPLY = src("Railway Supply", "2022-11")
VOA_DONGA = src("VOA (Planet Labs imagery), via Donga Ilbo", "2023-10")
CAVEAT_38N = "38 North: it was impossible to determine what the train was carrying."
CAVEAT_CSIS = "CSIS: the tarpaulins make the cargo impossible to identify conclusively."


def _geometry(scene_id: str, sighting: str, index: int = 0) -> dict[str, Any]:
    objects = [o for o in objects_for_scene(scene_id) if o.sighting == sighting]
    return objects[index].lonlat()


def _hull(scene_id: str, sighting: str, kind: str) -> dict[str, Any]:
    from shapely.ops import unary_union

    shapes = [
        o.geometry for o in objects_for_scene(scene_id) if o.sighting == sighting and o.kind == kind
    ]
    return mapping(L.to_lonlat(unary_union(shapes).convex_hull))  # type: ignore[no-any-return]


def record(fid: str, geometry: dict[str, Any], **props: Any) -> tuple[str, dict[str, Any]]:
    """One reported sighting as a GeoJSON Feature (method 'reported' unless told otherwise)."""
    props.setdefault("method", "reported")
    props.setdefault("status", "present")
    props.setdefault("confidence", 0.8)
    return fid, {"type": "Feature", "geometry": geometry, "properties": props}


def demo_records() -> list[tuple[str, dict[str, Any]]]:
    """Every demo sighting, with a stable id (``demo-<reference number>[-n]``)."""
    bridge_point = mapping(L.to_lonlat(L.BRIDGE_CENTRE))
    recs = [
        record(
            "demo-bridge-closed",
            _hull_bridge(),
            site="bridge",
            scene_id="border-20221015-baseline",
            observed_at="2020-02-01T00:00:00+09:00",
            observed_until="2022-11-01T00:00:00+09:00",
            time_precision="range",
            kind="train",
            count=0,
            status="absent",
            description="No rail traffic across the Friendship Bridge: closed by the DPRK from "
            "February 2020 until the first freight train in November 2022 (baseline).",
            sources=[TV2],
        ),
        record(
            "demo-1.0",
            bridge_point,
            site="bridge",
            scene_id=None,
            observed_at="2022-11-02T12:00:00+09:00",
            time_precision="day",
            kind="wagon",
            count=3,
            description="A train carrying horses (30 Orlov trotters, in three rail cars) crossed from "
            "Russia into the DPRK; a different train from 1.1–1.3, going the other way. "
            "Reported only: no image of it is held.",
            sources=[
                src("Russian veterinary authority, via TV 2 (Norway)", "2022-11"),
                src("Railway Supply / RailFreight", "2022-11"),
                src("Interfax and NK News (three cars)", "2022-11"),
            ],
        ),
        record(
            "demo-1.1",
            _geometry("border-20221104T1024", "1.1"),
            site="tumangang",
            scene_id="border-20221104T1024",
            observed_at="2022-11-04T10:24:00+09:00",
            kind="wagon",
            count=3,
            track_id="ep1-train",
            description="A train of three enclosed wagons (light blue, darker blue, reddish-brown) "
            f"in the Tumangang freight-handling area, heading for Russia. {CAVEAT_38N}",
            sources=[S38_1, TV2],
        ),
        record(
            "demo-1.2",
            _geometry("border-20221104T1310", "1.2"),
            site="bridge",
            scene_id="border-20221104T1310",
            observed_at="2022-11-04T13:10:00+09:00",
            kind="wagon",
            count=3,
            track_id="ep1-train",
            description="Apparently the same three wagons behind a locomotive on the Russian side, "
            f"about 200 m from the bridge. {CAVEAT_38N}",
            sources=[S38_1, TV2],
        ),
        record(
            "demo-1.3",
            _geometry("border-20221104T1429", "1.3", 0),
            site="khasan",
            scene_id="border-20221104T1429",
            observed_at="2022-11-04T14:29:00+09:00",
            kind="wagon",
            count=3,
            track_id="ep1-train",
            description="The locomotive and three wagons on the track at Khasan station, about 2 km "
            f"from the border. Transshipment at Khasan could not be confirmed. {CAVEAT_38N}",
            sources=[S38_1, TV2, RAILWAY_SUPPLY],
        ),
        record(
            "demo-1.3-small",
            _geometry("border-20221104T1429", "1.3", 1),
            site="khasan",
            scene_id="border-20221104T1429",
            observed_at="2022-11-04T14:29:00+09:00",
            kind="container",
            count=3,
            description="Three smaller wagons or containers parked next to the train.",
            sources=[S38_1, TV2, RAILWAY_SUPPLY],
        ),
        record(
            "demo-3.1",
            _geometry("khasan-20221129", "3.1"),
            site="khasan",
            scene_id="khasan-20221129",
            observed_at="2022-11-29T11:00:00+09:00",
            time_precision="day",
            kind="wagon",
            count=8,
            track_id="ep3-eight-cars",
            length_m=140,
            length_approx=True,
            description="An eight-car train with a locomotive (2 grey, 2 red, 2 grey, 1 lighter grey, "
            "1 brown).",
            sources=[S38_2],
        ),
        record(
            "demo-3.2",
            _geometry("tumangang-20221130", "3.2"),
            site="tumangang",
            scene_id="tumangang-20221130",
            observed_at="2022-11-30T11:00:00+09:00",
            time_precision="day",
            kind="wagon",
            count=8,
            track_id="ep3-eight-cars",
            description="The same eight cars in the Tumangang secure yard, the locomotive gone.",
            sources=[S38_2],
        ),
        record(
            "demo-2.1-cargo",
            _geometry("tumangang-20230924", "2.1", 0),
            site="tumangang",
            scene_id="tumangang-20230924",
            observed_at="2023-09-24T11:00:00+09:00",
            time_precision="day",
            kind="cargo",
            description="White cargo beside the tracks.",
            sources=[VOA_DONGA],
        ),
    ]
    for n, length in enumerate((225, 110, 60), start=1):
        recs.append(
            record(
                f"demo-2.1-train-{n}",
                _geometry("tumangang-20230924", "2.1", n),
                site="tumangang",
                scene_id="tumangang-20230924",
                observed_at="2023-09-24T11:00:00+09:00",
                time_precision="day",
                kind="train",
                count=1,
                length_m=length,
                length_approx=True,
                description=f"A train of about {length} m.",
                sources=[VOA_DONGA],
            )
        )
    for fid, scene_id, when, text in (
        (
            "demo-2.2",
            "tumangang-20230928",
            "2023-09-28",
            "A larger amount of blue (tarpaulin-covered) cargo in the centre of the yard.",
        ),
        (
            "demo-2.3-0929",
            "tumangang-20230929",
            "2023-09-29",
            "Blue cargo of different sizes and shapes.",
        ),
        (
            "demo-2.3-0930",
            "tumangang-20230930",
            "2023-09-30",
            "Blue cargo of different sizes and shapes.",
        ),
        ("demo-2.4", "tumangang-20231005", "2023-10-05", "The amount of cargo increased further."),
        ("demo-2.5-cargo", "tumangang-20231006", "2023-10-06", "More blue-tarpaulin cargo."),
    ):
        ref = fid.removeprefix("demo-").split("-")[0]
        recs.append(
            record(
                fid,
                _geometry(scene_id, ref, 0),
                site="tumangang",
                scene_id=scene_id,
                observed_at=f"{when}T11:00:00+09:00",
                time_precision="day",
                kind="cargo",
                description=f"{text} {CAVEAT_CSIS if ref in ('2.4', '2.5') else ''}".strip(),
                sources=[VOA_DONGA],
            )
        )
    recs += [
        record(
            "demo-2.5-trains",
            _hull("tumangang-20231006", "2.5", "train"),
            site="tumangang",
            scene_id="tumangang-20231006",
            observed_at="2023-10-06T11:00:00+09:00",
            time_precision="day",
            kind="train",
            count=5,
            count_approx=True,
            length_m=200,
            length_approx=True,
            description="About five trains, each about 200 m long.",
            sources=[VOA_DONGA],
        ),
        record(
            "demo-3.3",
            _hull("tumangang-20231005", "3.3", "wagon"),
            site="tumangang",
            scene_id="tumangang-20231005",
            observed_at="2023-10-05T11:00:00+09:00",
            time_precision="day",
            kind="wagon",
            count=73,
            count_approx=True,
            description="About 73 freight railcars (at least 70), many under tarpaulins; baseline: no "
            f"more than 20 cars at any time in the five years before COVID. {CAVEAT_CSIS}",
            sources=[
                CSIS,
                src("Arabic-language news report citing CSIS Beyond Parallel", "2023-10"),
            ],
        ),
        record(
            "demo-2.7",
            _geometry("rajin-20230930", "2.7"),
            site="rajin",
            scene_id="rajin-20230930",
            observed_at="2023-09-21T00:00:00+09:00",
            observed_until="2023-10-10T23:59:00+09:00",
            time_precision="range",
            kind="ship",
            count=1,
            length_m=100,
            length_approx=True,
            description="Ships about 100 m long seen at the port since the end of September.",
            sources=[VOA_DONGA],
            confidence=0.7,
        ),
        record(
            "demo-3.4",
            _geometry("rajin-20231012", "3.4"),
            site="rajin",
            scene_id="rajin-20231012",
            observed_at="2023-10-12T11:00:00+09:00",
            time_precision="day",
            kind="ship",
            count=1,
            length_m=110,
            length_approx=True,
            description="A ship of about 110 m loading, with a large crane.",
            sources=[src("VOA (Planet Labs imagery), via YTN and KBS", "2023-10")],
        ),
        record(
            "demo-3.5",
            _geometry("rajin-20231017", "3.5"),
            site="rajin",
            scene_id="rajin-20231017",
            observed_at="2023-10-17T11:00:00+09:00",
            time_precision="day",
            kind="container",
            length_m=90,
            length_approx=True,
            description="A blue rectangular stack of containers about 90 m long on the pier reported "
            "as 'DPRK-only'.",
            sources=[src("VOA, via JoongAng Ilbo", "2023-10")],
        ),
        record(
            "demo-3.6",
            _geometry("rajin-20231019", "3.6"),
            site="rajin",
            scene_id="rajin-20231019",
            observed_at="2023-10-19T11:00:00+09:00",
            time_precision="day",
            kind="ship",
            count=1,
            length_m=115,
            length_approx=True,
            track_id="rajin-ship-115",
            description="A ship of about 115 m loading.",
            sources=[VOA_DONGA],
        ),
        record(
            "demo-3.7-present",
            _geometry("rajin-20231020T1101", "3.7", 0),
            site="rajin",
            scene_id="rajin-20231020T1101",
            observed_at="2023-10-20T11:01:00+09:00",
            kind="ship",
            count=1,
            length_m=115,
            length_approx=True,
            track_id="rajin-ship-115",
            description="The 115 m ship present at 11:01.",
            sources=[VOA_DONGA],
        ),
        record(
            "demo-3.7-gone",
            _geometry("rajin-20231020T1101", "3.7", 0),
            site="rajin",
            scene_id="rajin-20231020T1543",
            observed_at="2023-10-20T15:43:00+09:00",
            kind="ship",
            count=0,
            status="absent",
            track_id="rajin-ship-115",
            description="The 115 m ship gone at 15:43, with the container stack.",
            sources=[VOA_DONGA],
        ),
        record(
            "demo-3.7-stack-gone",
            _geometry("rajin-20231020T1101", "3.7", 1),
            site="rajin",
            scene_id="rajin-20231020T1543",
            observed_at="2023-10-20T15:43:00+09:00",
            kind="container",
            count=0,
            status="absent",
            description="The container stack gone at 15:43.",
            sources=[VOA_DONGA],
        ),
        record(
            "demo-3.8",
            _geometry("rajin-20231021", "3.8"),
            site="rajin",
            scene_id="rajin-20231021",
            observed_at="2023-10-21T11:00:00+09:00",
            time_precision="day",
            kind="container",
            count=300,
            count_approx=True,
            length_m=80,
            length_approx=True,
            description="A new container stack about 80 m long, estimated at about 300 containers.",
            sources=[src("VOA, via Donga Ilbo and NewDaily", "2023-10")],
        ),
        record(
            "demo-3.9",
            _geometry("rajin-20231027", "3.9"),
            site="rajin",
            scene_id="rajin-20231027",
            observed_at="2023-10-27T11:00:00+09:00",
            time_precision="day",
            kind="ship",
            count=1,
            length_m=105,
            length_approx=True,
            description="A ship of about 105 m berthed at the 'DPRK-only' pier.",
            sources=[src("VOA, via KBS", "2023-10")],
        ),
    ]
    return recs


def _hull_bridge() -> dict[str, Any]:
    return mapping(L.to_lonlat(L.MAIN_BRIDGE.buffer(6, cap_style="flat")))  # type: ignore[no-any-return]


def load_demo_sightings(store: SQLiteStore) -> int:
    """Put every demo sighting in the store (replacing earlier demo records), in one transaction."""
    features = [(fid, ObservationIn.model_validate(doc)) for fid, doc in demo_records()]
    return store.create_many(features, actor="tumen demo")
