// Talking to tumen: JSON in and out; an API error becomes an Error carrying the API's message.

export async function getJSON(url) {
  const response = await fetch(url, { headers: { Accept: "application/json" } });
  return parse(response);
}

// `type`: the body's media type (a sighting is GeoJSON; a review is plain JSON).
export async function send(method, url, body, { key, etag, type = "application/geo+json" } = {}) {
  const headers = { "Content-Type": type, Accept: "application/geo+json" };
  if (key) headers["X-API-Key"] = key;
  if (etag) headers["If-Match"] = etag;
  const response = await fetch(url, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return parse(response);
}

async function parse(response) {
  if (response.status === 204) return null;
  const text = await response.text();
  let doc = null;
  try {
    doc = text ? JSON.parse(text) : null;
  } catch {
    doc = null;
  }
  if (!response.ok) {
    let detail = doc && doc.detail !== undefined ? doc.detail : text || response.statusText;
    if (Array.isArray(detail)) detail = detail.map((d) => `${(d.loc || []).join(".")}: ${d.msg}`).join("; ");
    const error = new Error(`${response.status}: ${detail}`);
    error.status = response.status;
    throw error;
  }
  return doc;
}
