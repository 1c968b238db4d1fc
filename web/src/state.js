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
