"""The synthetic demo data set: schematic scenes of each site, drawn from the reported sightings."""
