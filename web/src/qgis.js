// "Use in QGIS": the URLs of the current site, from /qgis?f=json, ready to copy.
import { getJSON } from "./api.js";
import { el, clear } from "./dom.js";
import { urls } from "./urls.js";

export async function showQgis(site) {
  const info = await getJSON(urls.qgis());
  const s = info.sites.find((x) => x.site === site);
  const body = clear(document.getElementById("qgis-body"));
  if (!s) return;
  const row = (label, value, help) => [
    el("label", {}, label, el("input", { readonly: true, value, onclick: (e) => e.target.select() })),
    help ? el("p", {}, help) : null,
  ];
  body.append(
    ...row("XYZ tiles", s.xyz.template, s.xyz.qgis),
    ...row("WMTS capabilities", s.wmts.capabilities, s.wmts.qgis),
    ...row("OGC API – Features", s.oapif.landing, s.oapif.qgis),
    ...row("GDAL", s.oapif.gdal, null),
  );
}
