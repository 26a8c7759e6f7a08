// HLS through hls.js (MSE), or natively where the browser plays HLS itself.
(function () {
  const src = document.currentScript.dataset.src;
  const video = document.getElementById("player");
  if (window.Hls && Hls.isSupported()) {
    const hls = new Hls();
    hls.loadSource(src);
    hls.attachMedia(video);
  } else if (video.canPlayType("application/vnd.apple.mpegurl")) {
    video.src = src;
  }
})();
