// The page's own log of what the visitor did, sent home with sendBeacon so the
// demo site (and its tests) can see how the Curator moved, clicked and typed.
(function () {
  const events = [];
  window.__events = events;
  let sent = 0;
  function describe(node) {
    if (!node || !node.tagName) return "";
    return node.tagName.toLowerCase() + (node.className && typeof node.className === "string" ? "." + node.className.trim().split(/\s+/).join(".") : "");
  }
  function record(e) {
    const item = { type: e.type, t: e.timeStamp, target: describe(e.target) };
    if ("clientX" in e) { item.x = e.clientX; item.y = e.clientY; }
    if (e.key !== undefined) item.key = e.key;
    if (e.deltaY !== undefined) item.dy = e.deltaY;
    events.push(item);
  }
  function flush() {
    if (sent >= events.length) return;
    const batch = events.slice(sent);
    sent = events.length;
    const body = JSON.stringify({ page: location.pathname + location.search, time_origin: performance.timeOrigin, events: batch });
    navigator.sendBeacon("/__events", new Blob([body], { type: "application/json" }));
  }
  for (const type of ["mousemove", "mousedown", "mouseup", "click", "keydown", "keyup", "wheel"]) {
    addEventListener(type, record, { capture: true, passive: true });
  }
  // Flushed before anything that may leave the page, and now and then.
  addEventListener("click", flush, true);
  addEventListener("keydown", (e) => { if (e.key === "Enter") flush(); }, true);
  addEventListener("submit", flush, true);
  addEventListener("pagehide", flush);
  setInterval(flush, 500);
})();
