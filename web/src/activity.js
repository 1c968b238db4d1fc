// The site's activity (sum of counts of present sightings per day) against its baseline.
import { getJSON } from "./api.js";

let chart = null;

export async function showActivity(site) {
  const doc = await getJSON(`/api/collections/observations/activity?site=${encodeURIComponent(site)}&interval=day`);
  const labels = doc.series.map((r) => r.period);
  const datasets = [{ label: "count seen", data: doc.series.map((r) => r.count), backgroundColor: "#d35400" }];
  if (doc.baseline && doc.baseline.count !== null && doc.baseline.count !== undefined) {
    datasets.push({
      type: "line", label: `baseline (${doc.baseline.kind}: ${doc.baseline.count})`,
      data: labels.map(() => doc.baseline.count), borderColor: "#2c3e50", borderDash: [4, 4], pointRadius: 0,
    });
  }
  if (chart) chart.destroy();
  chart = new Chart(document.getElementById("activity"), {
    type: "bar",
    data: { labels, datasets },
    options: { animation: false, plugins: { legend: { position: "bottom" } }, scales: { y: { beginAtZero: true } } },
  });
  return doc;
}
