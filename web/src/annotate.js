// Add, edit and delete sightings: geoman draws, a form fills the properties, the API stores them.
import { send } from "./api.js";
import { message } from "./dom.js";
import { ITEMS, urls } from "./urls.js";

const form = () => document.getElementById("sighting-form");

export function apiKey() {
  return sessionStorage.getItem("tumen-api-key") || "";
}

export function initKeyInput() {
  const input = document.getElementById("apikey");
  input.value = apiKey();
  input.addEventListener("change", () => sessionStorage.setItem("tumen-api-key", input.value));
}

export class Annotator {
  constructor(map, { context, onSaved }) {
    this.map = map;
    this.context = context; // () => ({site, scene})
    this.onSaved = onSaved;
    this.editing = null; // {id, version, geometry} when editing
    this.drawn = null;
    map.pm.addControls({
      position: "topleft", drawCircle: false, drawCircleMarker: false, drawRectangle: false,
      drawText: false, editMode: false, dragMode: false, cutPolygon: false, removalMode: false, rotateMode: false,
    });
    form().addEventListener("submit", (e) => { e.preventDefault(); this.save(); });
    document.getElementById("cancel").addEventListener("click", () => this.close());
    document.getElementById("delete").addEventListener("click", () => this.remove());
  }

  newShape(layer) {
    this.editing = null;
    this.drawn = layer;
    const { scene } = this.context();
    const f = form();
    f.reset();
    f.observed_at.value = scene ? scene.datetime : new Date().toISOString();
    this.open("New sighting");
  }

  edit(feature) {
    this.editing = { id: feature.id, version: feature.properties.version, geometry: feature.geometry };
    const p = feature.properties;
    const f = form();
    f.reset();
    for (const name of ["kind", "status", "count", "length_m", "observed_at", "description"]) {
      f[name].value = p[name] === null || p[name] === undefined ? "" : p[name];
    }
    f.count_approx.checked = Boolean(p.count_approx);
    f.length_approx.checked = Boolean(p.length_approx);
    const source = (p.sources || [])[0] || {};
    f.outlet.value = source.outlet || "";
    f.url.value = source.url || "";
    this.map.closePopup();
    this.open(`Edit sighting ${feature.id}`);
  }

  open(title) {
    document.getElementById("form-title").textContent = title;
    document.getElementById("delete").hidden = !this.editing;
    document.getElementById("form-section").hidden = false;
  }

  close() {
    document.getElementById("form-section").hidden = true;
    if (this.drawn) this.drawn.remove();
    this.drawn = null;
    this.editing = null;
  }

  properties() {
    const f = form();
    const { site, scene } = this.context();
    const number = (v) => (v === "" ? null : Number(v));
    const props = {
      site, scene_id: scene ? scene.id : null, observed_at: f.observed_at.value,
      kind: f.kind.value, status: f.status.value, count: number(f.count.value),
      count_approx: f.count_approx.checked, length_m: number(f.length_m.value),
      length_approx: f.length_approx.checked, description: f.description.value, method: "manual",
      sources: f.outlet.value ? [{ outlet: f.outlet.value, url: f.url.value || null }] : [],
    };
    if (this.editing) delete props.scene_id; // keep the scene it was recorded on
    return props;
  }

  async save() {
    try {
      let saved;
      if (this.editing) {
        saved = await send("PATCH", urls.observation(this.editing.id), { properties: this.properties() }, {
          key: apiKey(), etag: `"${this.editing.version}"`,
        });
      } else {
        const geometry = this.drawn.toGeoJSON().geometry;
        saved = await send("POST", ITEMS, { type: "Feature", geometry, properties: this.properties() }, { key: apiKey() });
      }
      message(`Saved sighting ${saved.id} (version ${saved.properties.version})`, "ok");
      this.close();
      await this.onSaved(saved);
    } catch (error) {
      message(`Could not save: ${error.message}`);
    }
  }

  async remove() {
    if (!this.editing) return;
    try {
      await send("DELETE", urls.observation(this.editing.id), undefined, {
        key: apiKey(), etag: `"${this.editing.version}"`,
      });
      message(`Deleted sighting ${this.editing.id}`, "ok");
      this.close();
      await this.onSaved(null);
    } catch (error) {
      message(`Could not delete: ${error.message}`);
    }
  }
}
