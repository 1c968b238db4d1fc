"""The keyed app fixtures of the sightings tests, for the routes tests of the publication graphics."""

from tests.overlays.conftest import api, keyed  # noqa: F401
