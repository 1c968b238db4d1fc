// The view lives in the URL hash, so a link or a reload restores it.

const KEYS = ["site", "date", "compare", "z", "lat", "lon", "layers"];

export function readHash() {
  const params = new URLSearchParams(location.hash.slice(1));
  const state = {};
  for (const key of KEYS) if (params.has(key)) state[key] = params.get(key);
  return state;
}

export function writeHash(state) {
  const params = new URLSearchParams();
  for (const key of KEYS) if (state[key] !== undefined && state[key] !== null && state[key] !== "") params.set(key, state[key]);
  history.replaceState(null, "", `#${params.toString()}`);
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
