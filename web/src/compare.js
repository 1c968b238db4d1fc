// Swipe compare: the left panes show the main date, the right panes the compare date.
import { el } from "./dom.js";

export const LEFT = ["leftImagery", "leftSightings"];
export const RIGHT = ["rightImagery", "rightSightings"];

export function createPanes(map) {
  map.createPane("leftImagery").style.zIndex = 250;
  map.createPane("rightImagery").style.zIndex = 251;
  map.createPane("leftSightings").style.zIndex = 450;
  map.createPane("rightSightings").style.zIndex = 451;
}

export class Swipe {
  constructor(map) {
    this.map = map;
    this.ratio = 0.5;
    this.box = el("div", { class: "swipe", hidden: true });
    this.line = el("div", { class: "line" });
    this.input = el("input", { type: "range", min: "0", max: "1", step: "any", value: "0.5", "aria-label": "Swipe between dates" });
    this.box.append(this.line, this.input);
    map.getContainer().append(this.box);
    for (const type of ["mousedown", "touchstart", "pointerdown", "dblclick", "wheel"]) {
      this.input.addEventListener(type, (e) => e.stopPropagation());
    }
    this.input.addEventListener("input", () => { this.ratio = Number(this.input.value); this.update(); });
    map.on("move zoom resize", () => this.update());
    this.active = false;
  }

  enable(on) {
    this.active = on;
    this.box.hidden = !on;
    this.update();
  }

  update() {
    const map = this.map;
    const size = map.getSize();
    const nw = map.containerPointToLayerPoint([0, 0]);
    const se = map.containerPointToLayerPoint(size);
    const x = nw.x + size.x * this.ratio;
    this.line.style.left = `${size.x * this.ratio - 1}px`;
    const left = this.active ? `rect(${nw.y}px, ${x}px, ${se.y}px, ${nw.x}px)` : "";
    const right = this.active ? `rect(${nw.y}px, ${se.x}px, ${se.y}px, ${x}px)` : "";
    for (const name of LEFT) map.getPane(name).style.clip = left;
    for (const name of RIGHT) {
      map.getPane(name).style.clip = right;
      map.getPane(name).style.display = this.active ? "" : "none";
    }
  }
}
