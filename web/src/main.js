// The map page: wires site and date choice, imagery, sightings, review, compare, measure, annotate, share.
import { getJSON } from "./api.js";
import { el, clear, message } from "./dom.js";
import { view, readPermalink, writePermalink, forgetPermalink, wantedPlace, wantedScene } from "./state.js";
import { loadKinds, kinds } from "./kinds.js";
import { sightingsLayer, renderList, legend } from "./sightings.js";
import { createPanes, Swipe } from "./compare.js";
import { Measure } from "./measure.js";
import { Annotator, initKeyInput } from "./annotate.js";
import { Reviewer } from "./review.js";
import { showActivity } from "./activity.js";
import { showQgis } from "./qgis.js";
import { urls } from "./urls.js";
import { L } from "./vendor.js";

const layers = { imagery: null, sightings: null, compareImagery: null, compareSightings: null, tracks: null };
const renderers = {};
let map;
let swipe;
let siteList = []; // the catalog's sites, as /sites listed them when the page loaded

function tilesUrl(site, scene) {
  // The baked format is served from the archive; unbaked scenes render as PNG (transparent edges).
  return urls.siteTiles(site, scene.datetime, scene.tile_format || "png");
}

function dayWindow(scene) {
  const day = scene.datetime.slice(0, 10);
  const offset = scene.datetime.slice(19) || "Z";
  return `${day}T00:00:00${offset}/${day}T23:59:59${offset}`;
}

// A scene's or a site's bbox as Leaflet bounds.
function bounds(item) {
  const [w, s, e, n] = item.bbox;
  return L.latLngBounds([s, w], [n, e]);
}

async function sightingsFor(scene, side) {
  const doc = await getJSON(urls.observations({ site: view.site, limit: 1000, datetime: dayWindow(scene) }));
  // The sightings made on this scene, and those reported that day with no image held.
  doc.features = doc.features.filter((f) => !f.properties.scene_id || f.properties.scene_id === scene.id);
  const pane = side === "left" ? "leftSightings" : "rightSightings";
  return sightingsLayer(doc, { pane, renderer: renderers[pane], onEdit: (f) => annotator.edit(f), review: reviewer });
}

function imagery(scene, side) {
  return L.tileLayer(tilesUrl(view.site, scene), {
    pane: side === "left" ? "leftImagery" : "rightImagery",
    bounds: bounds(scene),
    maxNativeZoom: 18,
    maxZoom: 20,
    attribution: scene.attribution,
  });
}

function updateBadge() {
  const synthetic = [view.scene, view.compare].some((s) => s && s.synthetic);
  document.getElementById("badge").hidden = !synthetic;
}

// The latest call of each; an earlier call still fetching must not add its layers too.
let shown = 0;
let compared = 0;

async function showScene(scene) {
  const call = ++shown;
  view.scene = scene;
  const sightings = await sightingsFor(scene, "left");
  if (call !== shown) return;
  if (layers.imagery) layers.imagery.remove();
  if (layers.sightings) layers.sightings.remove();
  layers.imagery = imagery(scene, "left").addTo(map);
  layers.sightings = sightings.addTo(map);
  document.getElementById("date").value = scene.datetime;
  for (const b of document.querySelectorAll(".timeline button")) b.classList.toggle("current", b.dataset.datetime === scene.datetime);
  const info = clear(document.getElementById("scene-info"));
  info.append(el("h2", {}, `Scene ${scene.id}`), el("p", {}, scene.description), el("p", { class: "attribution" }, scene.attribution));
  updateBadge();
  renderList(map, layers.sightings);
  reviewer.reset();
  writePermalink(map);
}

async function showCompare(scene) {
  const call = ++compared;
  view.compare = scene;
  const sightings = scene ? await sightingsFor(scene, "right") : null;
  if (call !== compared) return;
  if (layers.compareImagery) layers.compareImagery.remove();
  if (layers.compareSightings) layers.compareSightings.remove();
  layers.compareImagery = scene ? imagery(scene, "right").addTo(map) : null;
  layers.compareSightings = sightings ? sightings.addTo(map) : null;
  swipe.enable(Boolean(scene));
  document.getElementById("compare").value = scene ? scene.datetime : "";
  updateBadge();
  writePermalink(map);
}

// A permalink's date may be a day or any ISO time: the scene current then; the hash then names it.
function restored(key) {
  const { scene, problem } = wantedScene(key);
  if (problem) message(problem);
  return scene;
}

async function loadSite(siteId, { fly = true } = {}) {
  view.site = siteId;
  const calendar = await getJSON(urls.calendar(siteId));
  view.scenes = calendar.scenes;
  const observed = await getJSON(urls.observations({ site: siteId, limit: 10000 }));
  view.sightingDates = new Set(observed.features.map((f) => f.properties.observed_at.slice(0, 10)));
  const dateSelect = clear(document.getElementById("date"));
  const compareSelect = clear(document.getElementById("compare"));
  compareSelect.append(el("option", { value: "" }, "—"));
  const timeline = clear(document.getElementById("timeline"));
  for (const scene of view.scenes) {
    const label = `${scene.datetime.slice(0, 16).replace("T", " ")}${view.sightingDates.has(scene.date) ? " ●" : ""}`;
    dateSelect.append(el("option", { value: scene.datetime }, label));
    compareSelect.append(el("option", { value: scene.datetime }, label));
    timeline.append(
      el("button", {
        type: "button", "data-datetime": scene.datetime, title: scene.description,
        class: view.sightingDates.has(scene.date) ? "has-sightings" : null,
        onclick: () => showScene(scene).catch(report),
      }, scene.datetime.slice(0, 16).replace("T", " ")),
    );
  }
  document.getElementById("site").value = siteId;
  if (fly) {
    // The latest scene; a site with none yet (just added) is shown by its own bbox.
    const latest = view.scenes[view.scenes.length - 1];
    const site = siteList.find((s) => s.id === siteId);
    if (latest) map.fitBounds(bounds(latest).pad(-0.2));
    else if (site) map.fitBounds(bounds(site));
  }
  const wanted = restored("date") || view.scenes[view.scenes.length - 1];
  if (wanted) await showScene(wanted);
  await showCompare(restored("compare") || null);
  await showTracks(siteId);
  showActivity(siteId).catch(report);
  if (!document.getElementById("qgis").hidden) showQgis(siteId).catch(report);
}

function trackText(p) {
  const hours = p.duration_s / 3600;
  const duration = hours >= 24 ? `${(hours / 24).toFixed(1)} days` : `${hours.toFixed(1)} h`;
  const speed = p.avg_speed_kmh === null ? "" : `, ≈ ${p.avg_speed_kmh} km/h on average`;
  return `Track ${p.track_id}: ${p.count} sightings over ${duration}, ${(p.distance_m / 1000).toFixed(2)} km${speed}`;
}

async function showTracks(siteId) {
  if (layers.tracks) layers.tracks.remove();
  const doc = await getJSON(urls.tracks({ site: siteId, limit: 1000 }));
  layers.tracks = L.geoJSON(doc, {
    pane: "leftSightings",
    style: { color: "#f1c40f", weight: 2, dashArray: "2 6" },
    onEachFeature: (feature, layer) => layer.bindTooltip(trackText(feature.properties), { sticky: true }),
  }).addTo(map);
}

async function downloadReport() {
  const b = map.getBounds();
  const bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map((v) => v.toFixed(6)).join(",");
  const response = await fetch(urls.report(view.site, bbox, view.scene.datetime));
  if (!response.ok) {
    const doc = await response.json().catch(() => ({}));
    throw new Error(`Report: ${response.status}: ${doc.detail || response.statusText}`);
  }
  const link = el("a", { href: URL.createObjectURL(await response.blob()), download: `tumen-${view.site}.zip` });
  document.body.append(link);
  link.click();
  link.remove();
}

// The view's bbox, clipped to the shown scene (where it has pixels), as the figure and report read it;
// null when the view and the scene do not overlap.
function viewBbox() {
  const [w, s, e, n] = view.scene.bbox;
  const b = map.getBounds();
  const clipped = [Math.max(b.getWest(), w), Math.max(b.getSouth(), s), Math.min(b.getEast(), e), Math.min(b.getNorth(), n)];
  if (clipped[0] >= clipped[2] || clipped[1] >= clipped[3]) return null;
  return clipped.map((v) => v.toFixed(6)).join(",");
}

// The publication figure of the view at the shown date, in a new tab.
function openFigure() {
  if (!view.scene) throw new Error("Figure: no scene is shown");
  const bbox = viewBbox();
  if (!bbox) throw new Error(`Figure: the view is off scene ${view.scene.id}; move the map onto it`);
  window.open(urls.figure(view.site, bbox, view.scene.datetime), "_blank", "noopener");
}

function report(error) {
  message(error.message || String(error));
}

let annotator;
let reviewer;

async function start() {
  readPermalink();
  await loadKinds();
  const kindSelect = document.querySelector("#sighting-form [name=kind]");
  for (const k of kinds()) kindSelect.append(el("option", { value: k.kind }, k.label));
  map = L.map("map", { zoomControl: true, maxZoom: 20 });
  createPanes(map);
  for (const pane of ["leftSightings", "rightSightings"]) renderers[pane] = L.svg({ pane });
  map.attributionControl.setPrefix("Leaflet");
  legend().addTo(map);
  swipe = new Swipe(map);
  const measure = new Measure(map, document.getElementById("measure"));
  annotator = new Annotator(map, {
    context: () => ({ site: view.site, scene: view.scene }),
    onSaved: async () => {
      if (view.scene) await showScene(view.scene);
    },
  });
  reviewer = new Reviewer(map, {
    walked: () => layers.sightings,
    onChanged: () => {
      renderList(map, layers.sightings);
      showActivity(view.site).catch(report); // a verdict moves a candidate into or out of the counts
    },
  });
  map.on("pm:create", (e) => {
    if (!measure.take(e.layer)) annotator.newShape(e.layer);
  });
  map.on("moveend", () => {
    writePermalink(map);
    renderList(map, layers.sightings);
  });
  initKeyInput();
  const sites = await getJSON(urls.sites());
  siteList = sites.sites;
  const select = document.getElementById("site");
  for (const s of sites.sites) select.append(el("option", { value: s.id }, s.name));
  select.addEventListener("change", () => {
    forgetPermalink();
    loadSite(select.value).catch(report);
  });
  document.getElementById("date").addEventListener("change", (e) => {
    const scene = view.scenes.find((s) => s.datetime === e.target.value);
    if (scene) showScene(scene).catch(report);
  });
  document.getElementById("compare").addEventListener("change", (e) => {
    showCompare(view.scenes.find((s) => s.datetime === e.target.value) || null).catch(report);
  });
  document.getElementById("report").addEventListener("click", () => downloadReport().catch(report));
  document.getElementById("figure").addEventListener("click", () => {
    try {
      openFigure();
    } catch (error) {
      report(error);
    }
  });
  document.getElementById("qgis-toggle").addEventListener("click", () => {
    const panel = document.getElementById("qgis");
    panel.hidden = !panel.hidden;
    if (!panel.hidden) showQgis(view.site).catch(report);
  });
  // Sites are data: the one the URL asks for, else bridge, else the first the catalog has.
  const ids = sites.sites.map((s) => s.id);
  const site = [view.wanted.site, "bridge", ids[0]].find((id) => ids.includes(id));
  const place = wantedPlace();
  if (place) map.setView(place.center, place.zoom);
  await loadSite(site, { fly: !place });
  forgetPermalink();
  document.body.dataset.ready = "true";
}

start().catch(report);
