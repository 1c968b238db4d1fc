// The view in one object (site, its scenes, the date and compare date shown, the layers), and its
// permalink: the URL hash, read and written here only, so a link or a reload restores the view.

const KEYS = ["site", "date", "compare", "z", "lat", "lon", "layers"];

export const view = {
  site: null, // the site id
  scenes: [], // the site's scenes, in time order
  scene: null, // the scene shown (the date)
  compare: null, // the scene on the swipe's other side (the compare date), or null
  sightingDates: new Set(), // the days (YYYY-MM-DD) with sightings at the site
  layers: "imagery,sightings",
  wanted: {}, // what the permalink asked for, until the site it names is shown
};

function readHash() {
  const params = new URLSearchParams(location.hash.slice(1));
  const state = {};
  for (const key of KEYS) if (params.has(key)) state[key] = params.get(key);
  return state;
}

function writeHash(state) {
  const params = new URLSearchParams();
  for (const key of KEYS) if (state[key] !== undefined && state[key] !== null && state[key] !== "") params.set(key, state[key]);
  history.replaceState(null, "", `#${params.toString()}`);
}

export function readPermalink() {
  view.wanted = readHash();
  return view.wanted;
}

export function forgetPermalink() {
  view.wanted = {};
}

// The view into the hash; the map gives its centre and zoom.
export function writePermalink(map) {
  const c = map.getCenter();
  writeHash({
    site: view.site,
    date: view.scene ? view.scene.datetime : "",
    compare: view.compare ? view.compare.datetime : "",
    z: map.getZoom(),
    lat: c.lat.toFixed(6),
    lon: c.lng.toFixed(6),
    layers: view.layers,
  });
}

// The centre and zoom the permalink asked for, or null when it names none.
export function wantedPlace() {
  const { z, lat, lon } = view.wanted;
  return z && lat && lon ? { center: [Number(lat), Number(lon)], zoom: Number(z) } : null;
}

// The scene the permalink's date or compare ("date" | "compare") asked for, among the site's scenes:
// { scene } (undefined when it asked none), or { problem } saying why its text was not read.
export function wantedScene(key) {
  const text = view.wanted[key];
  if (!text) return { scene: undefined };
  const scene = sceneAt(view.scenes, text);
  if (!scene && view.scenes.length) {
    return { problem: `${key}: '${text}' is neither a date nor an ISO date-time (e.g. 2023-10-05, 2023-10-05T11:00+09:00)` };
  }
  return { scene };
}

// A date or time from the hash as an instant (ms), by the rule of the site tile route (tiles/dependencies
// parse_datetime): a bare date is the end of that day, UTC; a time without an offset is UTC. null if
// the text is neither. An unencoded "+" in the hash arrives as a space, as in a query string.
const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2})(?::(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?)?(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

export function instant(text) {
  let value = String(text).trim();
  if (value.includes("T") && value.includes(" ")) value = value.replace(" ", "+");
  const m = ISO.exec(value);
  if (!m) return null;
  const [, y, mo, d, h, mi = "0", s = "0", frac = "", zone] = m;
  const day = Date.UTC(+y, +mo - 1, +d);
  const check = new Date(day);
  if (check.getUTCFullYear() !== +y || check.getUTCMonth() !== +mo - 1 || check.getUTCDate() !== +d) return null;
  if (h === undefined) return zone ? null : day + 86399999; // a bare date: the end of that day, UTC
  if (+h > 23 || +mi > 59 || +s > 59) return null;
  const wall = Date.UTC(+y, +mo - 1, +d, +h, +mi, +s, Number(`${frac}000`.slice(0, 3)));
  if (!zone || zone.toUpperCase() === "Z") return wall;
  const sign = zone[0] === "-" ? -1 : 1;
  const hhmm = zone.slice(1).replace(":", "");
  return wall - sign * (Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(2) || 0)) * 60000;
}

// The scene current at that date or time: the latest at or before it, else the earliest (scenes are
// in time order). undefined when the text is not a date or time, or there are no scenes.
export function sceneAt(scenes, text) {
  const at = instant(text);
  if (at === null || !scenes.length) return undefined;
  let found = scenes[0];
  for (const scene of scenes) if (Date.parse(scene.datetime) <= at) found = scene;
  return found;
}
