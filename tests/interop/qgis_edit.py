"""Run by QGIS ≥ 3.32's Python: add, edit and delete sightings through the OAPIF provider, as a user would.

Usage: python3 qgis_edit.py JSON_ARGS  ->  prints one JSON line: {"added": id, "errors": [...], ...}
Args: {"api": "http://host:port/api", "key": "...", "lonlat": [lon, lat],
       "attributes": {...}, "edit": {...}, "move_to": [lon, lat], "delete_id": "obs-..."}
The API key goes out as an ``X-API-Key`` header through a QGIS "APIHeader" auth config, the way a
user sets it up in Settings → Authentication; nothing in the layer URI carries it.
"""

import faulthandler
import json
import sys

from qgis.core import (
    Qgis,
    QgsApplication,
    QgsAuthMethodConfig,
    QgsFeature,
    QgsGeometry,
    QgsPointXY,
    QgsVectorDataProvider,
    QgsVectorLayer,
)


def failures(layer: QgsVectorLayer) -> list[str]:
    """commitErrors() also lists "SUCCESS: ..." lines; keep the rest."""
    return [e for e in layer.commitErrors() if not e.startswith("SUCCESS")]


def main() -> None:
    args = json.loads(sys.argv[1])
    faulthandler.enable()
    QgsApplication.setPrefixPath("/usr", True)
    app = QgsApplication([], False)
    app.initQgis()
    log: list[str] = []
    QgsApplication.messageLog().messageReceived.connect(
        lambda message, tag, level: log.append(f"{tag}: {message}")
    )
    out: dict = {"qgis": Qgis.QGIS_VERSION, "log": log}

    auth = QgsApplication.authManager()
    auth.setMasterPassword("tumen-interop", True)
    config = QgsAuthMethodConfig("APIHeader")
    config.setName("tumen key")
    config.setConfig("X-API-Key", args["key"])
    out["auth_stored"] = bool(auth.storeAuthenticationConfig(config)[0])

    uri = f"typename='observations' url='{args['api']}' authcfg={config.id()}"
    layer = QgsVectorLayer(uri, "observations", "OAPIF")
    out["valid"] = layer.isValid()
    if not layer.isValid():
        print(json.dumps(out))
        return
    caps = layer.dataProvider().capabilities()
    out["can"] = {
        "add": bool(caps & QgsVectorDataProvider.AddFeatures),
        "change_attributes": bool(caps & QgsVectorDataProvider.ChangeAttributeValues),
        "change_geometry": bool(caps & QgsVectorDataProvider.ChangeGeometries),
        "delete": bool(caps & QgsVectorDataProvider.DeleteFeatures),
    }
    fields = layer.fields()
    before = {f.id() for f in layer.getFeatures()}

    # Add: the user draws a point and fills the attribute form.
    feature = QgsFeature(fields)
    feature.setGeometry(QgsGeometry.fromPointXY(QgsPointXY(*args["lonlat"])))
    for name, value in args["attributes"].items():
        feature[name] = value
    layer.startEditing()
    layer.addFeature(feature)
    out["add_committed"] = layer.commitChanges()
    out["errors"] = failures(layer)
    layer.reload()
    added = [f for f in layer.getFeatures() if f.id() not in before]
    out["added"] = [str(f["id"]) for f in added]

    # Edit: change attributes and move the point, then save again.
    if len(added) == 1:
        target = added[0]
        layer.startEditing()
        for name, value in args["edit"].items():
            layer.changeAttributeValue(target.id(), fields.indexOf(name), value)
        layer.changeGeometry(target.id(), QgsGeometry.fromPointXY(QgsPointXY(*args["move_to"])))
        out["edit_committed"] = layer.commitChanges()
        out["errors"] += failures(layer)

    # Delete: the user selects another feature (by its API id) and deletes it.
    doomed = [f.id() for f in layer.getFeatures() if str(f["id"]) == args.get("delete_id")]
    if doomed:
        layer.startEditing()
        layer.deleteFeature(doomed[0])
        out["delete_committed"] = layer.commitChanges()
        out["errors"] += failures(layer)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
