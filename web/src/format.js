// How a sighting's figures read: "≈" where approximate, time at its precision.

const PLURAL = { locomotive: "locomotives", wagon: "wagons", train: "trains", container: "containers", cargo: "cargo", ship: "ships", other: "objects" };

export function countText(p) {
  if (p.count === null || p.count === undefined) return p.kind;
  const noun = p.count === 1 ? p.kind : PLURAL[p.kind] || p.kind;
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

export const KIND_COLOURS = {
  train: "#d35400", wagon: "#e67e22", locomotive: "#8e44ad", container: "#2980b9",
  cargo: "#16a085", ship: "#c0392b", other: "#7f8c8d",
};
