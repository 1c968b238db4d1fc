"""Input the analysis cannot use raises AnalysisError with a message; an unchanged scene gives nothing."""

import numpy as np
import pytest
from affine import Affine

from analysis import AnalysisError, analyze

T = Affine(0.5, 0, 600_000, 0, -0.5, 4_700_000)


def _img(h: int = 64, w: int = 64, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(90, 140, (3, h, w), dtype=np.uint8)


def test_shapes_that_differ_are_refused() -> None:
    with pytest.raises(AnalysisError, match="same grid"):
        analyze(_img(64, 64), _img(64, 80), T)


def test_one_band_is_refused() -> None:
    with pytest.raises(AnalysisError, match="3-band"):
        analyze(_img()[:1], _img()[:1], T)


def test_sixteen_bit_is_refused() -> None:
    with pytest.raises(AnalysisError, match="8-bit"):
        analyze(_img().astype(np.uint16), _img().astype(np.uint16), T)


def test_degrees_are_refused() -> None:
    with pytest.raises(AnalysisError, match="degrees"):
        analyze(_img(), _img(), Affine(0.000005, 0, 130.6, 0, -0.000005, 42.4))


def test_absurd_pixel_size_is_refused() -> None:
    with pytest.raises(AnalysisError, match="outside"):
        analyze(_img(), _img(), Affine(30.0, 0, 600_000, 0, -30.0, 4_700_000))


def test_no_valid_pixels_is_refused() -> None:
    with pytest.raises(AnalysisError, match="no pixels"):
        analyze(_img(), _img(), T, valid=np.zeros((64, 64), dtype=bool))


def test_tiny_scene_is_refused() -> None:
    with pytest.raises(AnalysisError, match="too small"):
        analyze(_img(8, 8), _img(8, 8), T)


def test_unchanged_scene_gives_nothing() -> None:
    img = _img(200, 200)
    result = analyze(img, img.copy(), T)
    assert result.detections == []
    assert result.area_km2 == pytest.approx(200 * 200 * 0.25 / 1e6)
