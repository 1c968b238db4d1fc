// Every URL the map asks tumen for, built here: ids and values are always encoded, in paths and queries.

const enc = encodeURIComponent;

// A query string from an object; null and undefined values are left out.
function withQuery(path, params) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null) query.set(key, String(value));
  }
  const text = query.toString();
  return text ? `${path}?${text}` : path;
}

export const OBSERVATIONS = "/api/collections/observations";
export const ITEMS = `${OBSERVATIONS}/items`;

export const urls = {
  sites: () => "/sites",
  calendar: (site) => `/sites/${enc(site)}/calendar`,
  // A Leaflet template: {z}/{x}/{y} stay as they are, everything else is encoded.
  siteTiles: (site, datetime, ext) => `/sites/${enc(site)}/tiles/WebMercatorQuad/{z}/{x}/{y}.${enc(ext)}?datetime=${enc(datetime)}`,
  report: (site, bbox, datetime) => withQuery(`/sites/${enc(site)}/report`, { bbox, datetime }),
  figure: (site, bbox, datetime) => withQuery(`/sites/${enc(site)}/figure.png`, { bbox, datetime }),
  observationsCollection: () => OBSERVATIONS,
  observations: (params) => withQuery(ITEMS, params),
  observation: (id) => `${ITEMS}/${enc(id)}`,
  review: (id) => `${ITEMS}/${enc(id)}/review`,
  history: (id) => `${ITEMS}/${enc(id)}/history`,
  activity: (site) => withQuery(`${OBSERVATIONS}/activity`, { site, interval: "day" }),
  tracks: (params) => withQuery("/api/collections/tracks/items", params),
  qgis: () => withQuery("/qgis", { f: "json" }),
};
