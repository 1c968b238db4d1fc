// Sightings on the map: styled by kind and status, popups built from text nodes, a list in view.
import { el, safeLink, clear } from "./dom.js";
import { countText, lengthText, timeText } from "./format.js";
import { kinds, kindColour } from "./kinds.js";
import { L } from "./vendor.js";

export function style(feature) {
  const p = feature.properties;
  const colour = kindColour(p.kind);
  const absent = p.status === "absent";
  return { color: colour, weight: 3, dashArray: absent ? "6 6" : null, fillOpacity: absent ? 0 : 0.25 };
}

export function popupContent(feature, onEdit) {
  const p = feature.properties;
  const rows = [
    ["When", timeText(p)],
    ["Count", countText(p)],
    ["Length", lengthText(p)],
    ["Area", p.area_m2 ? `${Math.round(p.area_m2).toLocaleString("en")} m²` : null],
    ["Status", p.status],
    ["Confidence", p.confidence === null || p.confidence === undefined ? null : String(p.confidence)],
    ["Method", p.method],
    ["Review", p.review],
    ["Scene", p.scene_id || "reported only (no image held)"],
  ].filter(([, v]) => v);
  const sources = (p.sources || []).map((s) =>
    el("li", {}, s.url ? safeLink(s.url, s.outlet) : s.outlet, s.title ? ` — ${s.title}` : "", s.published ? ` (${s.published})` : ""),
  );
  return el(
    "div",
    { class: "popup", "data-id": feature.id },
    el("h3", {}, `${countText(p)}${p.status === "absent" ? " (absent)" : ""}`),
    el("dl", {}, rows.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)])),
    p.description ? el("p", { class: "description" }, p.description) : null,
    sources.length ? el("div", {}, el("strong", {}, "Sources"), el("ul", { class: "sources" }, sources)) : null,
    onEdit ? el("button", { type: "button", class: "edit", onclick: () => onEdit(feature) }, "Edit") : null,
  );
}

export function sightingsLayer(doc, { pane, renderer, onEdit }) {
  return L.geoJSON(doc, {
    pane,
    style,
    pointToLayer: (feature, latlng) => L.circleMarker(latlng, { ...style(feature), radius: 8, pane, renderer }),
    onEachFeature: (feature, layer) => {
      if (renderer && layer.options) layer.options.renderer = renderer;
      layer.bindPopup(() => popupContent(feature, onEdit), { maxWidth: 360 });
    },
  });
}

export function renderList(map, layer) {
  const list = clear(document.getElementById("list"));
  if (!layer) return;
  const view = map.getBounds();
  layer.eachLayer((item) => {
    const bounds = item.getBounds ? item.getBounds() : L.latLngBounds([item.getLatLng()]);
    if (!view.intersects(bounds)) return;
    const p = item.feature.properties;
    list.append(
      el("li", { onclick: () => { map.fitBounds(bounds, { maxZoom: 18 }); item.openPopup(); } },
        `${timeText(p)} — ${countText(p)}${lengthText(p) ? `, ${lengthText(p)}` : ""}` +
          (p.method === "automated" ? ` (automated${p.review ? `, ${p.review}` : ""})` : "")),
    );
  });
}

export function legend() {
  const control = L.control({ position: "bottomright" });
  control.onAdd = () => {
    const box = el("div", { class: "legend" });
    for (const { label, colour } of kinds()) {
      box.append(el("div", {}, el("i", { style: `border-color:${colour};background:${colour}44` }), label));
    }
    box.append(el("div", {}, el("i", { style: "border-color:#555;border-style:dashed" }), "absent"));
    return box;
  };
  return control;
}
