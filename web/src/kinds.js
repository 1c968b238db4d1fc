// Each kind's label, plural and colour, as the API serves them (the `kinds` of the observations
// collection, from overlays/kinds.py): loaded once before anything is drawn, in legend order.
import { getJSON } from "./api.js";
import { urls } from "./urls.js";

const UNKNOWN_COLOUR = "#555";
let table = [];
let byKind = new Map();

export async function loadKinds() {
  const doc = await getJSON(urls.observationsCollection());
  table = doc.kinds || [];
  byKind = new Map(table.map((k) => [k.kind, k]));
  return table;
}

export const kinds = () => table;
export const kindColour = (kind) => byKind.get(kind)?.colour ?? UNKNOWN_COLOUR;
export const kindLabel = (kind) => byKind.get(kind)?.label ?? kind;
export const kindPlural = (kind) => byKind.get(kind)?.plural ?? kind;
