"""Imagery: the scenes catalog, the TiTiler route families that serve it, and ingest."""
