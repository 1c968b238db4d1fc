"""Run by the system Python (PyQGIS): load one layer, render a window, report what QGIS saw.

Usage: python3 qgis_render.py JSON_ARGS  ->  prints one JSON line: {"valid":..., "png":..., ...}
Args: {"provider": "wms"|"OAPIF", "uri": "...", "extent": [minx,miny,maxx,maxy] (EPSG:3857),
       "size": [w, h], "out": "/path.png", "temporal": null | ["start", "end"], "filter_extent": ...}
"""

import faulthandler
import json
import sys

from qgis.core import (
    Qgis,
    QgsApplication,
    QgsCoordinateReferenceSystem,
    QgsDateTimeRange,
    QgsMapRendererSequentialJob,
    QgsMapSettings,
    QgsRasterLayer,
    QgsRectangle,
    QgsVectorLayer,
)
from qgis.PyQt.QtCore import QDateTime, QSize, Qt
from qgis.PyQt.QtGui import QColor


def main() -> None:
    args = json.loads(sys.argv[1])
    faulthandler.enable()
    QgsApplication.setPrefixPath("/usr", True)
    app = QgsApplication([], False)
    app.initQgis()
    out: dict = {"qgis": Qgis.QGIS_VERSION}
    if args["provider"] == "OAPIF":
        layer = QgsVectorLayer(args["uri"], "layer", "OAPIF")
        out["valid"] = layer.isValid()
        if layer.isValid():
            out["count"] = layer.featureCount()
            out["fields"] = [f.name() for f in layer.fields()]
            feats = list(layer.getFeatures())
            out["features"] = len(feats)
    else:
        layer = QgsRasterLayer(args["uri"], "layer", args["provider"])
        out["valid"] = layer.isValid()
        if layer.isValid():
            caps = layer.temporalProperties()
            out["temporal_capable"] = bool(caps and caps.isActive())
            settings = QgsMapSettings()
            settings.setLayers([layer])
            settings.setDestinationCrs(QgsCoordinateReferenceSystem("EPSG:3857"))
            settings.setExtent(QgsRectangle(*args["extent"]))
            settings.setOutputSize(QSize(*args["size"]))
            settings.setBackgroundColor(QColor(Qt.transparent))
            if args.get("temporal"):
                start, end = (QDateTime.fromString(t, Qt.ISODate) for t in args["temporal"])
                settings.setIsTemporal(True)
                settings.setTemporalRange(QgsDateTimeRange(start, end))
            job = QgsMapRendererSequentialJob(settings)
            job.start()
            job.waitForFinished()
            image = job.renderedImage()
            image.save(args["out"], "PNG")
            out["png"] = args["out"]
            out["render_errors"] = [e.message for e in job.errors()]
    print(json.dumps(out), flush=True)
    app.exitQgis()


if __name__ == "__main__":
    main()
