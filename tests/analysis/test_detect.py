"""The analysis on a small scene drawn in the test: trains, a ship and cargo found and measured
against a baseline shifted by a pixel and re-lit; nothing on an unchanged or cloudy scene."""

import numpy as np
import pytest

from analysis import AnalysisResult, Detection, analyze
from tests.analysis import drawing as dr

RUST, GREY, BLUE, BLACK = (122, 60, 42), (112, 112, 116), (58, 90, 150), (40, 40, 44)


def _objects() -> dr.Drawn:
    parts = [
        dr.train(0, 20.0, 6, 14.0, True, [RUST, GREY, BLUE]),
        dr.train(2, 90.0, 4, 16.5, False, [BLACK, RUST]),
        dr.ship(30.0, 25.0, 70.0),
        dr.cargo(40.0, 95.0, 22.0, 14.0, (50, 120, 70)),
    ]
    out = dr.Drawn()
    for p in parts:
        out.shapes += p.shapes
        out.trains += p.trains
        out.ships += p.ships
        out.cargo += p.cargo
    return out


def _baseline() -> np.ndarray:
    # The baseline: 1 px off, brighter, another gamma, its own noise.
    return dr.finish(
        dr.paint(dr.world(), seed=5), seed=6, gain=1.12, offset=-6, gamma=0.9, shift=(1, -1)
    )


@pytest.fixture(scope="module")
def drawn() -> dr.Drawn:
    return _objects()


@pytest.fixture(scope="module")
def result(drawn: dr.Drawn) -> AnalysisResult:
    scene = dr.finish(dr.paint(dr.world() + drawn.shapes, seed=5), seed=7, noise=3.0)
    return analyze(scene, _baseline(), dr.TRANSFORM)


def _kind(result: AnalysisResult, kind: str) -> list[Detection]:
    return [d for d in result.detections if d.kind == kind]


def test_every_object_is_found_and_nothing_else(result: AnalysisResult, drawn: dr.Drawn) -> None:
    assert len(_kind(result, "train")) == len(drawn.trains)
    assert len(_kind(result, "ship")) == len(drawn.ships)
    assert len(_kind(result, "cargo")) == len(drawn.cargo)


def test_trains_are_measured_within_10_percent(result: AnalysisResult, drawn: dr.Drawn) -> None:
    found = sorted(d.length_m or 0.0 for d in _kind(result, "train"))
    for got, (want, _) in zip(found, sorted(drawn.trains), strict=True):
        assert got == pytest.approx(want, rel=0.10)


def test_wagons_are_counted_within_one_and_the_locomotive_is_not(
    result: AnalysisResult, drawn: dr.Drawn
) -> None:
    found = sorted(_kind(result, "train"), key=lambda d: d.length_m or 0.0)
    for det, (_, wagons) in zip(found, sorted(drawn.trains), strict=True):
        assert det.count is not None and abs(det.count - wagons) <= 1
    longest = found[-1]
    assert "locomotive" in longest.description


def test_train_geometry_is_a_line_along_its_axis(result: AnalysisResult) -> None:
    for d in _kind(result, "train"):
        assert d.geometry.geom_type == "LineString"
        assert d.geometry.length == pytest.approx(d.length_m, rel=0.01)


def test_ship_is_measured_within_10_percent(result: AnalysisResult, drawn: dr.Drawn) -> None:
    (ship,) = _kind(result, "ship")
    assert ship.geometry.geom_type == "Polygon"
    assert ship.count == 1
    assert ship.length_m == pytest.approx(drawn.ships[0], rel=0.10)


def test_cargo_area_is_within_20_percent(result: AnalysisResult, drawn: dr.Drawn) -> None:
    (cargo,) = _kind(result, "cargo")
    assert cargo.count is None
    assert cargo.area_m2 == pytest.approx(drawn.cargo[0], rel=0.20)


def test_detections_say_how_they_were_found(result: AnalysisResult) -> None:
    for d in result.detections:
        assert d.description.startswith("Automated: ")
        assert 0.0 <= d.confidence <= 1.0


def test_summary_is_one_line(result: AnalysisResult) -> None:
    line = result.summary("test-scene")
    assert line.startswith("test-scene: 2 trains (")
    assert "1 ship," in line and "1 cargo area (" in line and line.endswith(" s")


def test_rerun_gives_the_same_result(drawn: dr.Drawn, result: AnalysisResult) -> None:
    scene = dr.finish(dr.paint(dr.world() + drawn.shapes, seed=5), seed=7, noise=3.0)
    again = analyze(scene, _baseline(), dr.TRANSFORM)
    assert [(d.kind, d.geometry.wkt, d.count, d.length_m) for d in again.detections] == [
        (d.kind, d.geometry.wkt, d.count, d.length_m) for d in result.detections
    ]


def test_a_train_that_left_is_not_reported() -> None:
    gone = dr.train(1, 60.0, 5, 15.0, False, [RUST, BLUE])
    baseline = dr.finish(dr.paint(dr.world() + gone.shapes, seed=5), seed=6)
    scene = dr.finish(dr.paint(dr.world(), seed=5), seed=7, gain=0.9)
    assert analyze(scene, baseline, dr.TRANSFORM).detections == []


def test_a_wagon_of_the_ballast_grey_does_not_break_its_train() -> None:
    # Over its rails, a grey wagon is hardly a change pixel by pixel; it still covers the lane.
    drawn = dr.train(1, 40.0, 5, 15.0, False, [RUST, BLUE, (100, 95, 90), RUST, BLUE])
    scene = dr.finish(dr.paint(dr.world() + drawn.shapes, seed=5), seed=7, noise=3.0)
    trains = _kind(analyze(scene, _baseline(), dr.TRANSFORM), "train")
    assert len(trains) == 1
    assert trains[0].length_m == pytest.approx(drawn.trains[0][0], rel=0.05)
    assert trains[0].count == 5


def test_a_hectare_changed_in_one_piece_is_not_cargo() -> None:
    # Ground resurfaced (or a label burnt in) over 130 m × 90 m: no object, a note instead.
    resurfaced = dr.cargo(10.0, 20.0, 130.0, 90.0, (150, 90, 60))
    scene = dr.finish(dr.paint(dr.world() + resurfaced.shapes, seed=5), seed=7)
    result = analyze(scene, _baseline(), dr.TRANSFORM)
    assert _kind(result, "cargo") == []
    assert any("not reported as cargo" in n for n in result.notes)


def test_unchanged_scene_relit_and_shifted_gives_nothing() -> None:
    scene = dr.finish(dr.paint(dr.world(), seed=5), seed=9, noise=4.0, gain=0.85, gamma=1.2)
    result = analyze(scene, _baseline(), dr.TRANSFORM)
    assert result.detections == []
    assert result.notes == []


def test_cloud_gives_a_note_and_no_detection() -> None:
    clouded = dr.cloud(dr.paint(dr.world(), seed=5), 120.0, 120.0, 70.0, seed=3)
    scene = dr.finish(clouded, seed=9)
    result = analyze(scene, _baseline(), dr.TRANSFORM)
    assert result.detections == []
    assert any("cloud" in n for n in result.notes)


def test_valid_mask_leaves_nodata_out(drawn: dr.Drawn) -> None:
    scene = dr.finish(dr.paint(dr.world() + drawn.shapes, seed=5), seed=7)
    valid = np.ones(scene.shape[1:], dtype=bool)
    valid[:, : valid.shape[1] // 2] = False  # the west half has no data
    scene[:, ~valid] = 0
    result = analyze(scene, _baseline(), dr.TRANSFORM, valid=valid)
    east = dr.X0 + dr.W_M / 2
    assert all(d.geometry.bounds[0] >= east - 1.0 for d in result.detections)
    assert result.area_km2 == pytest.approx(valid.sum() * 0.25 / 1e6)


def test_track_references_keep_trains_to_the_tracks(drawn: dr.Drawn) -> None:
    from analysis import References

    scene = dr.finish(dr.paint(dr.world() + drawn.shapes, seed=5), seed=7, noise=3.0)
    only_track_0 = References(tracks=[dr.track_line(0)])
    result = analyze(scene, _baseline(), dr.TRANSFORM, references=only_track_0)
    trains = _kind(result, "train")
    assert len(trains) == 1
    assert trains[0].geometry.distance(dr.track_line(0)) < 1.0
