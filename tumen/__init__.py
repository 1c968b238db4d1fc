"""tumen: dated imagery of the DPRK–Russia border as map tiles, with the sightings made on it."""

__version__ = "0.1.0"
