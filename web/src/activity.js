// The site's activity: one bar series per kind seen (counts of present, confirmed sightings per day), each
// with its own baseline where the site has one and its unreviewed candidates' counts apart. Kinds are
// never added together; the chart opens on the site's main kind (wagons at rail sites, ships at ports)
// and the legend shows or hides the others.
import { getJSON } from "./api.js";
import { kindColour, kindLabel } from "./kinds.js";
import { urls } from "./urls.js";
import { Chart } from "./vendor.js";

let chart = null;

function datasets(series, labels, shown) {
  const sets = [];
  for (const s of series) {
    const colour = kindColour(s.kind);
    const counts = new Map(s.points.map((p) => [p.period, p.count]));
    const hidden = s.kind !== shown;
    sets.push({ kind: s.kind, label: kindLabel(s.kind), data: labels.map((l) => counts.get(l) ?? null), backgroundColor: colour, hidden });
    // Candidates nobody has reviewed yet: their own pale bars beside the counted ones, never added in.
    const pending = new Map(s.points.filter((p) => p.unreviewed).map((p) => [p.period, p.unreviewed_count]));
    if (pending.size) {
      sets.push({
        kind: s.kind, label: `${kindLabel(s.kind)} (unreviewed candidates)`, hidden,
        data: labels.map((l) => pending.get(l) ?? null),
        backgroundColor: `${colour}40`, borderColor: colour, borderWidth: 1, borderDash: [4, 3],
      });
    }
    if (s.baseline && s.baseline.count !== null && s.baseline.count !== undefined) {
      sets.push({
        kind: s.kind, type: "line", label: `${kindLabel(s.kind)} baseline (${s.baseline.count})`, hidden,
        data: labels.map(() => s.baseline.count), borderColor: colour, borderDash: [4, 4], pointRadius: 0,
      });
    }
  }
  return sets;
}

// A legend click shows or hides a kind's bars and its baseline together.
function toggleKind(event, item, legend) {
  const c = legend.chart;
  const kind = c.data.datasets[item.datasetIndex].kind;
  const visible = !c.isDatasetVisible(item.datasetIndex);
  c.data.datasets.forEach((d, i) => {
    if (d.kind === kind) c.setDatasetVisibility(i, visible);
  });
  c.update();
}

export async function showActivity(site) {
  const doc = await getJSON(urls.activity(site));
  const labels = [...new Set(doc.series.flatMap((s) => s.points.map((p) => p.period)))].sort();
  const kinds = doc.series.map((s) => s.kind);
  const shown = kinds.includes(doc.main_kind) ? doc.main_kind : kinds[0];
  if (chart) chart.destroy();
  chart = new Chart(document.getElementById("activity"), {
    type: "bar",
    data: { labels, datasets: datasets(doc.series, labels, shown) },
    options: {
      animation: false,
      plugins: { legend: { position: "bottom", onClick: toggleKind } },
      scales: { y: { beginAtZero: true } },
    },
  });
  return doc;
}
