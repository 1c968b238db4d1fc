"""The figure renderer on arrays: scale bar, north arrow, marks, credit, stamp, text chunks."""

import numpy as np
import pytest
from affine import Affine

from publish import Crop, Mark, render_figure
from publish.north import north_angle
from publish.scalebar import nice_length
from tests.publish.helpers import (
    caption,
    grey_crop,
    lonlat,
    pixels,
    scale_bar_ends,
    strongly_red,
    text_chunks,
)


@pytest.mark.parametrize(
    ("limit", "expected"),
    [
        (1, 1),
        (1.9, 1),
        (2, 2),
        (4.99, 2),
        (5, 5),
        (9.9, 5),
        (10, 10),
        (176, 100),
        (380, 200),
        (999, 500),
        (1000, 1000),
        (0.37, 0.2),
        (26_000, 20_000),
    ],
)
def test_scale_lengths_are_1_2_or_5_times_a_power_of_ten(limit: float, expected: float) -> None:
    assert nice_length(limit) == pytest.approx(expected)


@pytest.mark.parametrize(("m_per_px", "width"), [(0.73, 800), (5.0, 400), (0.31, 1600)])
def test_scale_bar_ends_are_the_stated_metres_apart(m_per_px: float, width: int) -> None:
    crop = grey_crop(width=width, height=width // 2, m_per_px=m_per_px)
    png = render_figure(crop, [], caption()).png()
    rgb, chunks = pixels(png), text_chunks(png)
    height = crop.height
    first, last = scale_bar_ends(rgb, range(height * 3 // 4, height))
    stated = float(chunks["tumen:scalebar_m"])
    assert float(chunks["tumen:m_per_px"]) == pytest.approx(m_per_px, rel=1e-6)
    assert abs((last - first) - stated / m_per_px) <= 1
    assert (last - first) <= 0.22 * width + 1  # a bar, not the whole width
    assert nice_length(stated) == stated


def test_credit_line_is_in_the_text_chunks_and_drawn_under_the_image() -> None:
    crop = grey_crop()
    png = render_figure(crop, [], caption()).png()
    chunks = text_chunks(png)
    credit = "Image © Example Imaging, CC-BY-4.0; annotations: tumen"
    assert chunks["tumen:credit"] == credit and chunks["Copyright"] == credit
    assert chunks["tumen:datetime"] == "2022-11-04T13:10:00+09:00"
    assert chunks["tumen:scene_id"] == "border-b" and chunks["tumen:synthetic"] == "false"
    rgb = pixels(png)
    band = rgb[crop.height :]
    assert band.shape[0] > 20 and np.all(band[:, -3:] == 255)  # white paper ...
    ink_rows = np.flatnonzero((band < 128).all(axis=2).any(axis=1))
    # ... with two lines of dark text: the heading, then (lower) the credit
    assert ink_rows.size and ink_rows.max() > band.shape[0] // 2


def test_synthetic_scene_is_stamped_and_says_so_in_its_metadata() -> None:
    crop = grey_crop()
    stamped = render_figure(crop, [], caption(synthetic=True)).png()
    plain = render_figure(crop, [], caption(synthetic=False)).png()
    corner = (slice(0, 120), slice(0, 300))
    assert strongly_red(pixels(stamped)[corner]) > 2000
    assert strongly_red(pixels(plain)) == 0
    chunks = text_chunks(stamped)
    assert chunks["tumen:synthetic"] == "true" and "SYNTHETIC" in chunks["Disclaimer"]


def test_a_mark_is_drawn_where_its_coordinates_are() -> None:
    crop = grey_crop()
    colour = (230, 126, 34)
    lon, lat = lonlat(crop, 400, 250)
    mark = Mark({"type": "Point", "coordinates": [lon, lat]}, "3 wagons, 2022-11-04 13:10", colour)
    rgb = pixels(render_figure(crop, [mark], caption()).png())
    hit = np.all(rgb == colour, axis=2)
    rows, cols = np.nonzero(hit[235:266, 385:409])
    # the ring around the point (radius 6 px at this width), centred on it (±1 px)
    assert rows.size > 20
    assert abs((rows.min() + rows.max()) / 2 + 235 - 250.5) <= 1
    assert abs((cols.min() + cols.max()) / 2 + 385 - 400.5) <= 1
    assert hit[:, 409:].any()  # and its label beside it, outlined in its colour
    assert not hit[:230].any() and not hit[:, :385].any()  # nowhere else


def test_north_arrow_points_to_true_north_not_grid_north() -> None:
    # UTM 52N's central meridian is 129° E: at 130.64° E, 42.4° N grid north is ~1.1° east of true
    # north, so true north is turned ~1.1° anticlockwise from the image's up.
    crop = grey_crop()
    assert north_angle(crop.transform, crop.crs, crop.width, crop.height) == pytest.approx(
        -1.1, abs=0.1
    )
    on_meridian = Affine(1, 0, 500_000 - 400, 0, -1, 4_700_000)
    assert north_angle(on_meridian, "EPSG:32652", 800, 500) == pytest.approx(0, abs=0.01)


def test_pixels_must_be_square_and_rgb() -> None:
    with pytest.raises(ValueError, match="square"):
        Crop(np.zeros((4, 4, 3), np.uint8), Affine(1, 0, 0, 0, -2, 0), "EPSG:32652")
    with pytest.raises(ValueError, match="uint8"):
        Crop(np.zeros((4, 4), np.uint8), Affine(1, 0, 0, 0, -1, 0), "EPSG:32652")
