"""Across tiles and overlays: the same keyed app fixtures as the sightings tests."""

from tests.overlays.conftest import api, keyed  # noqa: F401
