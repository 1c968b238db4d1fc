"""Strip and timelapse renderers on arrays: panels in a grid, frames that readers count."""

import io

import imageio.v3 as iio
import numpy as np
import pytest
from PIL import Image

from publish import Panel, encode_gif, encode_mp4, render_frame, render_strip
from publish.strip import GUTTER, StripLayout
from tests.publish.helpers import caption, grey_crop, pixels, text_chunks


def panels_in_row(rgb: np.ndarray, row: int) -> int:
    """Runs of non-gutter columns along a row: the panels it crosses."""
    inside = ~np.all(rgb[row] == GUTTER, axis=1)
    return int(np.count_nonzero(inside[1:] & ~inside[:-1]) + inside[0])


@pytest.mark.parametrize(
    ("count", "columns", "rows"), [(1, 1, 1), (3, 3, 1), (4, 2, 2), (7, 3, 3), (12, 4, 3)]
)
def test_strip_has_one_panel_per_date(count: int, columns: int, rows: int) -> None:
    layout = StripLayout(1200, count)
    assert (layout.columns, layout.rows) == (columns, rows)
    panels = [
        Panel(
            grey_crop(width=layout.panel_width, height=layout.panel_width // 2, seed=i),
            caption(scene_id=f"scene-{i}"),
            note=f"{i} wagons",
        )
        for i in range(count)
    ]
    strip = render_strip(panels, "Friendship Bridge", 1200)
    rgb = pixels(strip.png())
    found = 0
    for _x, y, _w, h in strip.boxes[::columns]:  # a row through the middle of each grid row
        found += panels_in_row(rgb, y + h // 2)
    assert found == count
    assert len(strip.boxes) == count
    chunks = text_chunks(strip.png())
    assert chunks["tumen:scene_id"] == ", ".join(f"scene-{i}" for i in range(count))
    assert chunks["tumen:credit"] == "Image © Example Imaging, CC-BY-4.0; annotations: tumen"
    # each panel shows its own crop, unchanged where nothing is drawn on it
    x, y, w, h = strip.boxes[-1]
    middle = rgb[y + h // 2 - 5 : y + h // 2 + 5, x + w // 2 - 5 : x + w // 2 + 5]
    assert np.array_equal(
        middle, panels[-1].crop.rgb[h // 2 - 5 : h // 2 + 5, w // 2 - 5 : w // 2 + 5]
    )


def frames(count: int = 4) -> list[Image.Image]:
    return [
        render_frame(grey_crop(width=321, height=201, seed=i), [], caption(synthetic=True))
        for i in range(count)
    ]


def test_frames_are_even_sized_for_h264() -> None:
    f = frames(1)[0]
    assert f.width % 2 == 0 and f.height % 2 == 0 and f.width >= 321


def test_gif_has_one_frame_per_image_and_loops() -> None:
    gif = Image.open(io.BytesIO(encode_gif(frames(4))))
    assert gif.n_frames == 4 and gif.info["loop"] == 0 and gif.info["duration"] == 800


def test_mp4_has_one_frame_per_image() -> None:
    body = encode_mp4(frames(5))
    video = iio.imread(body, index=None, extension=".mp4", plugin="FFMPEG")
    assert video.shape[0] == 5 and video.shape[1:3] == (frames(1)[0].height, frames(1)[0].width)
    assert iio.immeta(body, extension=".mp4", plugin="FFMPEG")["codec"] == "h264"
