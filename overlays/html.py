"""Plain HTML views (``f=html``): every value goes through escape, so user text stays text."""

import json
from html import escape
from typing import Any

_STYLE = (
    "body{font-family:sans-serif;margin:2em;max-width:80em}table{border-collapse:collapse}"
    "td,th{border:1px solid #ccc;padding:.3em;vertical-align:top;text-align:left}"
)


def _cell(value: Any) -> str:
    if isinstance(value, dict | list):
        value = json.dumps(value, ensure_ascii=False)
    return escape("" if value is None else str(value))


def page(title: str, body: str) -> str:
    """A whole HTML document."""
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)}</title>"
        f"<style>{_STYLE}</style></head><body><h1>{escape(title)}</h1>{body}</body></html>"
    )


def links_html(links: list[dict[str, str]]) -> str:
    """The document's links as a list."""
    items = "".join(
        f"<li><a href='{escape(link['href'])}'>{escape(link.get('title') or link['rel'])}</a> "
        f"({escape(link['rel'])})</li>"
        for link in links
    )
    return f"<ul>{items}</ul>"


def features_html(title: str, doc: dict[str, Any]) -> str:
    """A FeatureCollection or a Feature as a table of properties."""
    features = doc.get("features", [doc] if doc.get("type") == "Feature" else [])
    keys: list[str] = []
    for f in features:
        for k in f.get("properties", {}):
            if k not in keys:
                keys.append(k)
    head = (
        "<tr><th>id</th><th>geometry</th>"
        + "".join(f"<th>{escape(k)}</th>" for k in keys)
        + "</tr>"
    )
    rows = "".join(
        "<tr><td>"
        + _cell(f.get("id"))
        + "</td><td>"
        + _cell((f.get("geometry") or {}).get("type"))
        + "</td>"
        + "".join(f"<td>{_cell(f['properties'].get(k))}</td>" for k in keys)
        + "</tr>"
        for f in features
    )
    counts = ""
    if "numberMatched" in doc:
        counts = f"<p>{doc['numberReturned']} of {doc['numberMatched']} features</p>"
    return page(title, counts + links_html(doc.get("links", [])) + f"<table>{head}{rows}</table>")


def document_html(title: str, doc: dict[str, Any]) -> str:
    """Any other JSON document: its links, then its content."""
    body = links_html(doc.get("links", []))
    body += f"<pre>{escape(json.dumps({k: v for k, v in doc.items() if k != 'links'}, indent=2, ensure_ascii=False))}</pre>"
    return page(title, body)
