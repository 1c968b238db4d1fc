// Measure: draw a line, read its length in metres (great-circle distance between the points).

export function lineLength(latlngs) {
  let total = 0;
  for (let i = 1; i < latlngs.length; i += 1) total += latlngs[i - 1].distanceTo(latlngs[i]);
  return total;
}

export class Measure {
  constructor(map, button) {
    this.map = map;
    this.button = button;
    this.active = false;
    this.line = null;
    button.addEventListener("click", () => this.start());
  }

  start() {
    if (this.line) this.line.remove();
    this.active = true;
    this.button.classList.add("on");
    this.map.pm.enableDraw("Line", { snappable: false });
  }

  // Called for every pm:create; returns true when the shape was a measurement.
  take(layer) {
    if (!this.active) return false;
    this.active = false;
    this.button.classList.remove("on");
    this.line = layer;
    const metres = lineLength(layer.getLatLngs());
    layer.setStyle({ color: "#fff", dashArray: "4 4", weight: 3 });
    layer.bindTooltip(`${metres.toFixed(1)} m`, { permanent: true, className: "measure-label" }).openTooltip();
    this.lastMetres = metres;
    document.getElementById("measure").textContent = `Measure (${metres.toFixed(1)} m)`;
    return true;
  }
}
