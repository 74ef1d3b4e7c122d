// The dashboard's only way to the collector: the public /api/v1 routes.
// With [api] api_key set, the first 401 opens the key dialog once; the key is kept in
// sessionStorage (this tab, survives a reload) and sent as "Authorization: Bearer",
// the live stream included: it is read with fetch() and a ReadableStream, because
// EventSource cannot send headers, and the key never goes into a URL.

const KEY = "agenttrace.apiKey";
let prompting = null;

export class ApiError extends Error {
  constructor(status, detail) {
    super(detail || `HTTP ${status}`);
    this.status = status;
  }
}

function headers() {
  const key = sessionStorage.getItem(KEY);
  return key ? { Authorization: `Bearer ${key}` } : {};
}

function askForKey(wrong) {
  if (prompting) return prompting;
  const dialog = document.getElementById("key-dialog");
  const input = document.getElementById("key-input");
  document.getElementById("key-error").textContent = wrong ? "That key was refused. Try again." : "";
  prompting = new Promise((resolve) => {
    const form = document.getElementById("key-form");
    const done = (ev) => {
      ev.preventDefault();
      const key = input.value.trim();
      if (!key) return;
      sessionStorage.setItem(KEY, key);
      input.value = "";
      form.removeEventListener("submit", done);
      dialog.close();
      prompting = null;
      resolve();
    };
    form.addEventListener("submit", done);
    dialog.addEventListener("cancel", (ev) => ev.preventDefault());  // the page is useless without it
    dialog.showModal();
    input.focus();
  });
  return prompting;
}

async function authorized(doFetch) {
  for (;;) {
    const hadKey = !!sessionStorage.getItem(KEY);
    const res = await doFetch(headers());
    if (res.status !== 401) return res;
    sessionStorage.removeItem(KEY);
    await askForKey(hadKey);
  }
}

function setConn(ok, text) {
  const el = document.getElementById("conn");
  if (!el) return;
  el.textContent = text;
  el.classList.toggle("bad", !ok);
}

export async function get(path, params = {}, { signal } = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") q.set(k, v);
  const url = "/api/v1" + path + (q.toString() ? "?" + q : "");
  let res;
  try {
    res = await authorized((h) => fetch(url, { headers: h, signal }));
  } catch (err) {
    if (err.name !== "AbortError") setConn(false, "collector unreachable");
    throw err;
  }
  if (!res.ok) {
    let detail = "";
    try { detail = (await res.json()).detail; } catch { /* not JSON */ }
    if (res.status >= 500) setConn(false, `collector error ${res.status}`);
    throw new ApiError(res.status, detail);
  }
  setConn(true, "● connected");
  return res.json();
}

// Server-sent events over fetch: calls onEvent(name, data) per event until signal aborts.
export async function stream(path, params, onEvent, { signal } = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v) q.set(k, v);
  const url = "/api/v1" + path + (q.toString() ? "?" + q : "");
  const res = await authorized((h) => fetch(url, { headers: { ...h, Accept: "text/event-stream" }, signal }));
  if (!res.ok) throw new ApiError(res.status, `stream: HTTP ${res.status}`);
  setConn(true, "● streaming");
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf = (buf + value).replace(/\r\n/g, "\n");
    let cut;
    while ((cut = buf.indexOf("\n\n")) >= 0) {
      const block = buf.slice(0, cut);
      buf = buf.slice(cut + 2);
      let event = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith(":")) continue;  // a comment: keepalive
        const i = line.indexOf(":");
        const field = i < 0 ? line : line.slice(0, i);
        const val = i < 0 ? "" : line.slice(i + 1).replace(/^ /, "");
        if (field === "event") event = val;
        else if (field === "data") data.push(val);
      }
      if (data.length) onEvent(event, JSON.parse(data.join("\n")));
    }
  }
}
