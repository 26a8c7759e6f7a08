// The VVTV player: hls.js on the channel's live playlist (native HLS where MSE is missing),
// "Now" and "Next" from the guide API, a muted autoplay start with an unmute button,
// recovery from network and media errors, and a one-line status.
(function () {
  "use strict";

  const GUIDE_REFRESH_MS = 5000;
  const STATUS_REFRESH_MS = 1000;
  const RESTART_DELAY_MS = 3000;
  const NETWORK_RETRY_MS = 2000;
  // Two media errors this close together: the codec guess is wrong, swap it before recovering.
  const MEDIA_ERROR_WINDOW_MS = 3000;
  const MAX_EVENTS = 500;

  const body = document.body;
  const playlistUrl = body.dataset.playlist;
  const guideUrl = body.dataset.guide;
  const video = document.getElementById("video");
  const unmute = document.getElementById("unmute");
  const statusLine = document.getElementById("status");

  let hls = null;
  let guide = null;
  let problem = "";
  let buffering = false;
  let lastMediaError = 0;

  // What happened, for people debugging and for the acceptance tests.
  const events = [];
  function record(type, detail) {
    events.push(Object.assign({ type: type, at: performance.now() }, detail || {}));
    if (events.length > MAX_EVENTS) events.shift();
  }

  // The wall-clock moment on screen (EXT-X-PROGRAM-DATE-TIME of the playing segment plus the offset).
  function playingDateMs() {
    if (hls && hls.playingDate) return hls.playingDate.getTime();
    if (!hls && typeof video.getStartDate === "function") {
      const start = video.getStartDate().getTime();
      if (!isNaN(start)) return start + video.currentTime * 1000;
    }
    return null;
  }

  window.vvtvPlayer = {
    video: video,
    events: events,
    playingDateMs: playingDateMs,
    get hls() { return hls; },
  };

  function report(text) {
    problem = text;
    renderStatus();
  }

  function tryPlay() {
    video.play().catch(function (error) {
      record("playRejected", { name: error.name });
      report("Press play to start");
    });
  }

  function startHls() {
    hls = new Hls({ enableWorker: true, lowLatencyMode: false, backBufferLength: 30 });
    hls.on(Hls.Events.MANIFEST_PARSED, function () {
      report("");
      tryPlay();
      // The stream (re)started: label it from a fresh guide rather than the last poll's.
      refreshGuide();
    });
    hls.on(Hls.Events.FRAG_BUFFERED, function () {
      if (problem.startsWith("Connection")) report("");
    });
    hls.on(Hls.Events.ERROR, onHlsError);
    hls.loadSource(playlistUrl);
    hls.attachMedia(video);
  }

  function restartHls() {
    if (hls) hls.destroy();
    hls = null;
    setTimeout(startHls, RESTART_DELAY_MS);
  }

  function onHlsError(_event, data) {
    record("hlsError", { errorType: data.type, details: data.details, fatal: Boolean(data.fatal) });
    if (!data.fatal) return;
    if (data.type === Hls.ErrorTypes.NETWORK_ERROR) {
      report("Connection lost, retrying…");
      const manifest = data.details === Hls.ErrorDetails.MANIFEST_LOAD_ERROR
        || data.details === Hls.ErrorDetails.MANIFEST_LOAD_TIMEOUT
        || data.details === Hls.ErrorDetails.MANIFEST_PARSING_ERROR;
      // Without a manifest there is nothing to resume: start over.
      if (manifest) restartHls();
      else setTimeout(function () { if (hls) hls.startLoad(); }, NETWORK_RETRY_MS);
    } else if (data.type === Hls.ErrorTypes.MEDIA_ERROR) {
      report("Recovering from a media error…");
      const now = performance.now();
      if (now - lastMediaError < MEDIA_ERROR_WINDOW_MS) hls.swapAudioCodec();
      lastMediaError = now;
      hls.recoverMediaError();
      record("recover", { errorType: data.type });
    } else {
      report("Player error, restarting…");
      restartHls();
    }
  }

  function start() {
    if (window.Hls && Hls.isSupported()) {
      startHls();
    } else if (video.canPlayType("application/vnd.apple.mpegurl")) {
      video.src = playlistUrl;
      video.addEventListener("loadedmetadata", tryPlay);
    } else {
      report("This browser cannot play HLS video.");
    }
  }

  // Media element events: buffering after start-up is what viewers notice.
  video.addEventListener("playing", function () { buffering = false; record("playing"); renderStatus(); });
  video.addEventListener("waiting", function () { buffering = true; record("waiting"); renderStatus(); });
  video.addEventListener("stalled", function () { record("stalled"); });
  video.addEventListener("error", function () {
    record("mediaError", { code: video.error ? video.error.code : 0 });
  });
  video.addEventListener("volumechange", showUnmute);

  function showUnmute() {
    unmute.hidden = !video.muted;
  }

  unmute.addEventListener("click", function () {
    video.muted = false;
    tryPlay();
  });

  // --- guide -----------------------------------------------------------

  function clockTime(us) {
    return new Date(us / 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  }

  function fillSlot(id, item) {
    const slot = document.getElementById(id);
    slot.querySelector(".time").textContent = item ? clockTime(item.start_us) : "";
    slot.querySelector(".title").textContent = item ? item.title || "Untitled" : "—";
  }

  function renderGuide() {
    if (!guide) return;
    const items = guide.recent.concat(guide.on_air ? [guide.on_air] : [], guide.next);
    // Label what the viewer sees, which runs a few segments behind the live edge.
    const shownMs = playingDateMs();
    const shownUs = shownMs === null ? guide.now_us : shownMs * 1000;
    let index = items.findIndex(function (item) { return item.start_us <= shownUs && shownUs < item.end_us; });
    if (index < 0) index = guide.on_air ? items.indexOf(guide.on_air) : -1;
    fillSlot("now", index >= 0 ? items[index] : null);
    fillSlot("next", index >= 0 ? items[index + 1] : items.find(function (i) { return i.start_us > shownUs; }));
  }

  async function refreshGuide() {
    try {
      const response = await fetch(guideUrl, { cache: "no-store" });
      if (response.ok) guide = await response.json();
    } catch (error) {
      record("guideError", { message: String(error) });
    }
    renderGuide();
  }

  // --- status ----------------------------------------------------------

  function bufferedAheadS() {
    const ranges = video.buffered;
    for (let i = 0; i < ranges.length; i++) {
      if (ranges.start(i) <= video.currentTime && video.currentTime <= ranges.end(i)) {
        return ranges.end(i) - video.currentTime;
      }
    }
    return 0;
  }

  function renderStatus() {
    let text;
    if (problem) text = problem;
    else if (video.paused) text = "Paused";
    else if (buffering) text = "Buffering…";
    else {
      const level = hls && hls.levels[hls.currentLevel];
      const quality = level ? " · " + level.height + "p" : "";
      text = "Live" + quality + " · " + bufferedAheadS().toFixed(1) + " s buffered";
    }
    statusLine.textContent = text;
    renderGuide();
  }

  // The age gate (gated channels only): the origin answers with a token cookie, then playback starts.
  function passGate() {
    const form = document.getElementById("gate");
    const error = document.getElementById("gate-error");
    const mode = body.dataset.gate;
    document.getElementById(mode === "confirm" ? "gate-confirm" : "gate-birthdate").hidden = false;
    form.hidden = false;
    report("Age check");
    form.addEventListener("submit", async function (event) {
      event.preventDefault();
      const answer = mode === "confirm"
        ? { confirm: form.elements.confirm.checked }
        : { birthdate: form.elements.birthdate.value };
      try {
        const response = await fetch(body.dataset.gateUrl, {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify(answer),
        });
        const reply = await response.json();
        if (!response.ok) {
          error.textContent = reply.error || "Not allowed";
          record("gateRefused", { status: response.status });
          return;
        }
        record("gatePassed");
        form.hidden = true;
        report("");
        start();
      } catch (failure) {
        error.textContent = "Connection problem, please try again";
      }
    });
  }

  showUnmute();
  if (body.dataset.gate) passGate();
  else start();
  refreshGuide();
  setInterval(refreshGuide, GUIDE_REFRESH_MS);
  setInterval(renderStatus, STATUS_REFRESH_MS);
})();
