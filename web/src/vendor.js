// The libraries index.html loads as classic scripts (copied from npm into web/vendor by web/vendor.mjs),
// read once from window here: every other module imports them from this one and touches no global.
// leaflet-geoman has no export of its own: it adds map.pm to every Leaflet map.

export const L = window.L;
export const Chart = window.Chart;
