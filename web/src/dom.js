// Safe DOM building: user text is always inserted as text, links only for http(s) URLs.

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function safeLink(url, text) {
  try {
    const parsed = new URL(url);
    if (parsed.protocol === "http:" || parsed.protocol === "https:") {
      return el("a", { href: parsed.href, target: "_blank", rel: "noopener noreferrer" }, text);
    }
  } catch {
    /* not a URL: shown as text */
  }
  return document.createTextNode(text);
}

export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
}

export function message(text, kind = "error") {
  const box = document.getElementById("messages");
  const item = el("div", { class: kind }, text);
  box.prepend(item);
  setTimeout(() => item.remove(), kind === "error" ? 20000 : 5000);
}
