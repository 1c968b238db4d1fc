// Reviewing sightings: confirm or dispute one from its popup (POST …/items/{id}/review with the API key and
// the item's version as If-Match), walk the shown scene's unreviewed candidates (n next, c confirm,
// d dispute), and read a sighting's history. A verdict restyles the sighting in place.
import { getJSON, send } from "./api.js";
import { apiKey } from "./annotate.js";
import { el, message } from "./dom.js";
import { stampText } from "./format.js";
import { decorate, layerBounds } from "./sightings.js";
import { urls } from "./urls.js";

const REVIEWER = "tumen-reviewer"; // the reviewer's name, kept in the tab's sessionStorage like the key

const isUnreviewed = (layer) => layer.feature.properties.review === "unreviewed";

// Keys typed into a field are text, not commands.
function typing(target) {
  return target instanceof Element && Boolean(target.closest("input, textarea, select, [contenteditable]"));
}

function historyLine(change) {
  const after = change.after ? change.after.properties || {} : {};
  const what = change.action === "review" ? `review: ${after.review}` : change.action;
  return el(
    "li", { "data-action": change.action },
    `${what} · ${change.actor || "?"} · ${stampText(change.at)}`,
    change.action === "review" && after.review_note ? el("q", {}, after.review_note) : null,
  );
}

export class Reviewer {
  // `walked`: () => the shown scene's sightings layer (what "Next unreviewed" goes through);
  // `onChanged`: called after a sighting changed in place (the list relabels it).
  constructor(map, { walked, onChanged }) {
    this.map = map;
    this.walked = walked;
    this.onChanged = onChanged;
    this.current = null; // the layer whose popup is open
    this.cursor = null; // the id of the candidate the walk is at
    this.disputing = null; // the id whose popup shows the reason field
    this.draft = ""; // the reason typed so far (kept while the popup is re-drawn)
    this.busy = new Set(); // ids with a review on its way (a second key press must not send a stale one)
    this.notices = new Map(); // id → what its popup must say (a conflict, a refusal)
    this.histories = new Map(); // id → its changes, while its popup shows them
    this.status = document.getElementById("review-status");
    document.getElementById("next-unreviewed").addEventListener("click", () => this.next());
    const name = document.getElementById("reviewer");
    name.value = sessionStorage.getItem(REVIEWER) || "";
    name.addEventListener("change", () => sessionStorage.setItem(REVIEWER, name.value.trim()));
    document.addEventListener("keydown", (e) => this.key(e));
  }

  // A new scene is shown: the walk starts again from its first candidate.
  reset() {
    this.cursor = null;
    this.disputing = null;
    this.count();
  }

  opened(layer) {
    this.current = layer;
  }

  closed(layer) {
    if (this.current === layer) this.current = null;
    if (this.disputing === layer.feature.id) this.disputing = null;
  }

  // The review part of a sighting's popup: its state, who and when, the note, the buttons, the history.
  section(layer) {
    const f = layer.feature;
    const p = f.properties;
    if (!p.review) return null;
    const rows = [
      ["Review", p.review],
      ["By", p.reviewed_by],
      ["At", p.reviewed_at ? stampText(p.reviewed_at) : null],
      ["Note", p.review_note],
    ].filter(([, v]) => v);
    const busy = this.busy.has(f.id);
    const notice = this.notices.get(f.id);
    const history = this.histories.get(f.id);
    return el(
      // A button here re-draws the popup at once; its click must not then reach the map, which would
      // no longer find it inside the popup and close the popup (Leaflet 1.9 marks, not stops, clicks).
      "div", { class: "review", "data-review": p.review, onclick: (e) => e.stopPropagation() },
      el("dl", {}, rows.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)])),
      notice ? el("p", { class: "notice", role: "alert" }, notice) : null,
      el(
        "div", { class: "buttons" },
        el("button", {
          type: "button", class: "confirm", disabled: busy || p.review === "confirmed",
          title: "Confirm this sighting (key c)", onclick: () => this.confirm(layer),
        }, "Confirm"),
        el("button", {
          type: "button", class: "dispute", disabled: busy,
          title: "Dispute it, with a reason (key d)", onclick: () => this.askReason(layer),
        }, "Dispute…"),
        el("button", {
          type: "button", class: "history-toggle", "aria-expanded": history ? "true" : "false",
          onclick: () => this.toggleHistory(layer),
        }, history ? "Hide history" : "History"),
      ),
      this.disputing === f.id ? this.reasonForm(layer) : null,
      history ? el("ol", { class: "history", "aria-label": "History" }, history.map(historyLine)) : null,
    );
  }

  reasonForm(layer) {
    const id = `reason-${String(layer.feature.id).replace(/[^A-Za-z0-9_-]/g, "_")}`;
    const input = el("input", {
      id, type: "text", name: "reason", maxlength: "2000", autocomplete: "off", "aria-required": "true",
      value: this.draft, oninput: (e) => { this.draft = e.target.value; },
      onkeydown: (e) => { if (e.key === "Escape") { e.preventDefault(); e.stopPropagation(); this.cancelReason(layer); } },
    });
    return el(
      "form", {
        class: "reason", novalidate: true,
        onsubmit: (e) => { e.preventDefault(); this.dispute(layer, input.value); },
      },
      el("label", { for: id }, "Why is it disputed? (required)"),
      input,
      el("div", { class: "buttons" },
        el("button", { type: "submit" }, "Dispute"),
        el("button", { type: "button", onclick: () => this.cancelReason(layer) }, "Cancel")),
    );
  }

  // Re-draws an open popup from its sighting (its content is built from layer.feature each time).
  refresh(layer) {
    if (layer.isPopupOpen && layer.isPopupOpen()) layer.getPopup().update();
  }

  askReason(layer) {
    if (this.busy.has(layer.feature.id)) return;
    if (this.disputing !== layer.feature.id) this.draft = "";
    this.disputing = layer.feature.id;
    if (!layer.isPopupOpen()) layer.openPopup();
    this.refresh(layer);
    const field = layer.getPopup().getElement()?.querySelector("form.reason input");
    if (field) field.focus();
  }

  cancelReason(layer) {
    this.disputing = null;
    this.draft = "";
    this.refresh(layer);
  }

  confirm(layer) {
    if (layer.feature.properties.review === "confirmed") {
      message(`Sighting ${layer.feature.id} is already confirmed.`, "ok");
      return Promise.resolve(false);
    }
    return this.verdict(layer, { review: "confirmed" });
  }

  dispute(layer, reason) {
    const note = reason.trim();
    if (!note) {
      this.notices.set(layer.feature.id, "A dispute needs a reason: say why in the field.");
      this.refresh(layer);
      layer.getPopup().getElement()?.querySelector("form.reason input")?.focus();
      return Promise.resolve(false);
    }
    return this.verdict(layer, { review: "disputed", note });
  }

  async verdict(layer, body) {
    const f = layer.feature;
    if (this.busy.has(f.id)) return false;
    const by = sessionStorage.getItem(REVIEWER);
    if (by) body.by = by;
    this.busy.add(f.id);
    this.notices.delete(f.id);
    this.refresh(layer);
    try {
      const saved = await send("POST", urls.review(f.id), body, {
        key: apiKey(), etag: `"${f.properties.version}"`, type: "application/json",
      });
      this.busy.delete(f.id);
      this.disputing = null;
      this.draft = "";
      message(`Sighting ${f.id} ${saved.properties.review}`, "ok");
      await this.apply(layer, saved);
      return true;
    } catch (error) {
      this.busy.delete(f.id);
      await this.refused(layer, error);
      return false;
    }
  }

  async refused(layer, error) {
    const id = layer.feature.id;
    if (error.status === 412) {
      const text = "Someone changed this sighting after the map loaded it: nothing was saved. " +
        "It has been reloaded; check it and review it again.";
      this.notices.set(id, text);
      message(text);
      await this.reload(layer);
    } else if (error.status === 403) {
      message("Reviewing needs the API key: type it in the “API key” field at the top, then review again.");
      this.refresh(layer);
      document.getElementById("apikey").focus();
    } else {
      this.notices.set(id, `Could not review: ${error.message}`);
      message(`Could not review sighting ${id}: ${error.message}`);
      this.refresh(layer);
    }
  }

  // The sighting as the API has it now (after a conflict), restyled in place; gone if it was deleted.
  async reload(layer) {
    try {
      await this.apply(layer, await getJSON(urls.observation(layer.feature.id)));
    } catch (error) {
      if (error.status !== 404) throw error;
      message(`Sighting ${layer.feature.id} was deleted meanwhile.`);
      layer.remove();
      this.onChanged();
      this.count();
    }
  }

  async apply(layer, feature) {
    layer.feature = feature;
    decorate(layer);
    if (this.histories.has(feature.id)) await this.loadHistory(feature.id);
    this.refresh(layer);
    this.onChanged();
    this.count();
  }

  async loadHistory(id) {
    const doc = await getJSON(urls.history(id));
    this.histories.set(id, doc.changes || []);
  }

  async toggleHistory(layer) {
    const id = layer.feature.id;
    if (this.histories.has(id)) this.histories.delete(id);
    else {
      try {
        await this.loadHistory(id);
      } catch (error) {
        message(`History of ${id}: ${error.message}`);
      }
    }
    this.refresh(layer);
    layer.getPopup().getElement()?.querySelector("button.history-toggle")?.focus();
  }

  candidates() {
    const group = this.walked();
    return group ? group.getLayers() : [];
  }

  // Says how many unreviewed candidates the shown scene has left.
  count() {
    const left = this.candidates().filter(isUnreviewed).length;
    this.status.textContent = left
      ? `${left} unreviewed candidate${left === 1 ? "" : "s"} on this scene`
      : "No unreviewed candidates left on this scene.";
    return left;
  }

  // The next unreviewed candidate after the one the walk is at (from the first again at the end).
  next() {
    const all = this.candidates();
    if (!this.count()) return null;
    const at = all.findIndex((l) => l.feature.id === this.cursor);
    const layer = [...all.slice(at + 1), ...all.slice(0, at + 1)].find(isUnreviewed);
    this.cursor = layer.feature.id;
    this.map.fitBounds(layerBounds(layer), { maxZoom: 18, padding: [80, 80], animate: false });
    layer.openPopup();
    return layer;
  }

  key(e) {
    if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey || typing(e.target)) return;
    const actions = { n: () => this.next(), c: () => this.withCurrent((l) => this.confirm(l)), d: () => this.withCurrent((l) => this.askReason(l)) };
    const action = actions[e.key];
    if (!action) return;
    e.preventDefault(); // "d" must not be typed into the reason field it focuses
    action();
  }

  withCurrent(act) {
    const layer = this.current;
    if (!layer || !layer.feature.properties.review) {
      message("Open a sighting first: n (or “Next unreviewed”) opens the next candidate.", "ok");
      return;
    }
    act(layer);
  }
}
