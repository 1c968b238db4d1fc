// Copies the files the page loads from node_modules into web/vendor (served at /map/vendor).
import { cpSync, mkdirSync, rmSync } from "node:fs";

const files = {
  "leaflet/dist/leaflet.js": "leaflet.js",
  "leaflet/dist/leaflet.css": "leaflet.css",
  "leaflet/dist/images": "images",
  "@geoman-io/leaflet-geoman-free/dist/leaflet-geoman.js": "leaflet-geoman.js",
  "@geoman-io/leaflet-geoman-free/dist/leaflet-geoman.css": "leaflet-geoman.css",
  "chart.js/dist/chart.umd.js": "chart.umd.js",
};
rmSync("vendor", { recursive: true, force: true });
mkdirSync("vendor", { recursive: true });
for (const [from, to] of Object.entries(files)) {
  cpSync(`node_modules/${from}`, `vendor/${to}`, { recursive: true });
}
console.log(`vendored ${Object.keys(files).length} files into web/vendor`);
