// A player built by JavaScript: the <video> exists only after the visitor clicks play.
document.querySelectorAll(".click-player").forEach((box) => {
  box.querySelector(".big-play").addEventListener("click", () => {
    const video = document.createElement("video");
    video.controls = true;
    video.width = 640;
    video.height = 360;
    box.replaceChildren(video);
    video.src = box.dataset.src;
    video.play();
  });
});
