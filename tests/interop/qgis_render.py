"""Run by the system Python (PyQGIS): load one layer, render a window, report what QGIS saw.

Usage: python3 qgis_render.py JSON_ARGS  ->  prints one JSON line: {"valid":..., "png":..., ...}
Args: {"provider": "wms"|"OAPIF", "uri": "...", "extent": [minx,miny,maxx,maxy] (EPSG:3857),
       "size": [w, h], "out": "/path.png", "temporal": null | ["start", "end"], "filter_extent": ...}
"""

import faulthandler
import gc
import json
import sys

from qgis.core import (
    Qgis,
    QgsApplication,
    QgsCoordinateReferenceSystem,
    QgsDateTimeRange,
    QgsFeatureRequest,
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
            out["attributes"] = [
                dict(zip(out["fields"], f.attributes(), strict=False)) for f in feats[:3]
            ]
            out["attributes"] = [{k: str(v) for k, v in a.items()} for a in out["attributes"]]
            if args.get("filter_extent"):
                request = QgsFeatureRequest().setFilterRect(QgsRectangle(*args["filter_extent"]))
                out["in_extent"] = sorted(str(f["id"]) for f in layer.getFeatures(request))
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
    # Release layers and features before QGIS tears down its providers (else it crashes on exit).
    del layer
    feats = request = None  # noqa: F841
    gc.collect()
    app.exitQgis()


if __name__ == "__main__":
    main()
