// How a sighting's figures read: "≈" where approximate, time at its precision, kinds as the API names them.
import { kindLabel, kindPlural } from "./kinds.js";

export function countText(p) {
  if (p.count === null || p.count === undefined) return kindLabel(p.kind);
  const noun = p.count === 1 ? kindLabel(p.kind) : kindPlural(p.kind);
  return `${p.count_approx ? "≈ " : ""}${p.count} ${noun}`;
}

export function lengthText(p) {
  if (!p.length_m) return null;
  return `${p.length_approx ? "≈ " : ""}${p.length_m} m`;
}

export function timeText(p) {
  const at = p.observed_at || "";
  const day = at.slice(0, 10);
  const offset = at.length > 19 ? at.slice(19) : "";
  switch (p.time_precision) {
    case "day":
      return day;
    case "month":
      return at.slice(0, 7);
    case "hour":
      return `${day} ${at.slice(11, 13)}h (UTC${offset})`;
    case "range":
      return `${day} – ${(p.observed_until || "").slice(0, 10)}`;
    default:
      return `${day} ${at.slice(11, 16)} (UTC${offset})`;
  }
}

// A confidence (0–1) as a whole percentage, "72 %"; null when there is none.
export function confidenceText(p) {
  if (p.confidence === null || p.confidence === undefined) return null;
  return `${Math.round(p.confidence * 100)} %`;
}

// A server time stamp (ISO 8601) to the minute in UTC, as the history and reviews show it.
export function stampText(iso) {
  if (!iso) return "";
  const t = new Date(iso);
  if (Number.isNaN(t.getTime())) return String(iso);
  return `${t.toISOString().slice(0, 16).replace("T", " ")} UTC`;
}
