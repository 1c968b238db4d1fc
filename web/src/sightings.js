// Sightings on the map: styled by kind, status and review, popups built from text nodes, a list in view.
import { el, safeLink, clear } from "./dom.js";
import { confidenceText, countText, lengthText, timeText } from "./format.js";
import { kinds, kindColour } from "./kinds.js";
import { L } from "./vendor.js";

// How a candidate nobody has checked yet is drawn: long dashes (an absence has short ones).
const CANDIDATE_DASH = "10 6";

export function style(feature) {
  const p = feature.properties;
  const colour = kindColour(p.kind);
  const absent = p.status === "absent";
  const drawn = { color: colour, weight: 3, opacity: 1, dashArray: absent ? "6 6" : null, fillOpacity: absent ? 0 : 0.25 };
  if (p.review === "unreviewed") return { ...drawn, dashArray: CANDIDATE_DASH, fillOpacity: absent ? 0 : 0.1 };
  if (p.review === "disputed") return { ...drawn, opacity: 0.35, fillOpacity: 0.04 };
  return drawn;
}

// What the list and the popup title say of a sighting's review: "(automated, unreviewed)",
// "(automated, confirmed)", "(disputed)" … and nothing for a person's sighting as made.
export function reviewText(p) {
  if (p.method === "automated") return ` (automated${p.review ? `, ${p.review}` : ""})`;
  return p.review && p.review !== "confirmed" ? ` (${p.review})` : "";
}

// Style and label a sighting's layer from its feature (again after a review changed it): an
// unreviewed candidate carries its confidence in a small permanent label.
export function decorate(layer) {
  const p = layer.feature.properties;
  layer.setStyle(style(layer.feature));
  layer.unbindTooltip();
  if (p.review === "unreviewed") {
    layer.bindTooltip(confidenceText(p) || "unreviewed", {
      permanent: true, direction: "top", className: "confidence-tip", pane: layer.options.pane, offset: [0, -6],
    });
  }
}

function popupContent(layer, { onEdit, review }) {
  const feature = layer.feature;
  const p = feature.properties;
  const rows = [
    ["When", timeText(p)],
    ["Count", countText(p)],
    ["Length", lengthText(p)],
    ["Area", p.area_m2 ? `${Math.round(p.area_m2).toLocaleString("en")} m²` : null],
    ["Status", p.status],
    ["Confidence", confidenceText(p)],
    ["Method", p.method],
    ["Scene", p.scene_id || "reported only (no image held)"],
  ].filter(([, v]) => v);
  const sources = (p.sources || []).map((s) =>
    el("li", {}, s.url ? safeLink(s.url, s.outlet) : s.outlet, s.title ? ` — ${s.title}` : "", s.published ? ` (${s.published})` : ""),
  );
  const confidence = p.review === "unreviewed" && confidenceText(p) ? ` · ${confidenceText(p)}` : "";
  return el(
    "div",
    { class: "popup", "data-id": feature.id },
    el("h3", {}, `${countText(p)}${p.status === "absent" ? " (absent)" : ""}${confidence}`),
    el("dl", {}, rows.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)])),
    p.description ? el("p", { class: "description" }, p.description) : null,
    sources.length ? el("div", {}, el("strong", {}, "Sources"), el("ul", { class: "sources" }, sources)) : null,
    review ? review.section(layer) : null,
    onEdit ? el("button", { type: "button", class: "edit", onclick: () => onEdit(layer.feature) }, "Edit") : null,
  );
}

// `review`: the Reviewer whose section each popup shows, told which sighting's popup is open.
export function sightingsLayer(doc, { pane, renderer, onEdit, review }) {
  return L.geoJSON(doc, {
    pane,
    style,
    pointToLayer: (feature, latlng) => L.circleMarker(latlng, { ...style(feature), radius: 8, pane, renderer }),
    onEachFeature: (feature, layer) => {
      if (renderer && layer.options) layer.options.renderer = renderer;
      // Opened clear of the SYNTHETIC badge at the top of the map.
      layer.bindPopup(() => popupContent(layer, { onEdit, review }), { maxWidth: 360, autoPanPaddingTopLeft: [20, 48] });
      if (review) {
        layer.on("popupopen", () => review.opened(layer));
        layer.on("popupclose", () => review.closed(layer));
      }
      layer.on("add", () => decorate(layer));
    },
  });
}

// Where a sighting's layer is, for fitting the view to it.
export function layerBounds(layer) {
  return layer.getBounds ? layer.getBounds() : L.latLngBounds([layer.getLatLng()]);
}

export function renderList(map, layer) {
  const list = clear(document.getElementById("list"));
  if (!layer) return;
  const view = map.getBounds();
  layer.eachLayer((item) => {
    const bounds = layerBounds(item);
    if (!view.intersects(bounds)) return;
    const p = item.feature.properties;
    const show = () => { map.fitBounds(bounds, { maxZoom: 18 }); item.openPopup(); };
    const confidence = confidenceText(p);
    list.append(
      el("li", {
        tabindex: "0", role: "button", "data-id": item.feature.id, class: p.review ? `review-${p.review}` : null,
        onclick: show,
        onkeydown: (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); show(); } },
      },
      `${timeText(p)} — ${countText(p)}${lengthText(p) ? `, ${lengthText(p)}` : ""}` +
        `${confidence ? ` · ${confidence}` : ""}${reviewText(p)}`),
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
    box.append(el("div", {}, el("i", { class: "candidate" }), "unreviewed candidate (confidence)"));
    box.append(el("div", { class: "disputed" }, el("i", { style: "border-color:#5559" }), "disputed"));
    return box;
  };
  return control;
}
