// Hash routes: #/view/arg?key=value. Every view's state lives in its URL, so a view can
// be shared and reloaded, and the collector only ever serves "/".

export function parseHash(hash = location.hash) {
  const raw = hash.replace(/^#\/?/, "");
  const [path, query = ""] = raw.split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  return { parts, params: Object.fromEntries(new URLSearchParams(query)) };
}

export function link(path, params = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "" && v !== false) q.set(k, v);
  const qs = q.toString();
  return "#/" + path + (qs ? "?" + qs : "");
}

export function go(path, params = {}) { location.hash = link(path, params); }

// Change the URL without re-rendering (a selected span, a tab): reloading restores it.
export function replace(path, params = {}) { history.replaceState(null, "", link(path, params)); }
