"""Sightings: observation records, their store, and the OGC API – Features service over them."""
