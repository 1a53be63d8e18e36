// Camera page: live preview with getUserMedia, front/back switch, capture, retake, send.
// Without a camera API (or when it is refused) the plain file input, which opens the camera on
// phones (capture="environment"), does the job, and a message says why. The photo's quality
// (quality.js) is only advice beside it: sending stays possible, the server's verdict counts.
(function () {
  "use strict";
  var form = document.querySelector("form[data-camera-form]");
  var box = document.querySelector("[data-camera]");
  if (!form || !box) { return; }
  var message = document.querySelector("[data-camera-message]");
  var errors = document.getElementById("upload-errors");
  var video = box.querySelector("[data-camera-video]");
  var still = box.querySelector("[data-camera-still]");
  var captureButton = box.querySelector("[data-camera-capture]");
  var switchButton = box.querySelector("[data-camera-switch]");
  var retakeButton = box.querySelector("[data-camera-retake]");
  var sendButton = box.querySelector("[data-camera-send]");
  var stream = null;
  var facing = "environment";
  var photo = null;
  var stillUrl = null;
  var qualityBox = document.querySelector("[data-quality-status]");
  var quality = window.skinsiteQuality;
  var fileInput = form.querySelector("input[type=file]");
  var taken = 0;  // which photo a quality check belongs to (a later one wins)

  function advise(blob) {
    taken += 1;
    if (!quality) { return; }
    var mine = taken;
    quality.clear(qualityBox);
    if (!blob) { return; }
    quality.check(blob).then(function (result) {
      if (mine === taken) { quality.show(qualityBox, result); }
    });
  }

  function say(key) {
    message.textContent = key ? message.getAttribute("data-" + key) : "";
    message.classList.toggle("d-none", !key);
  }

  function toggle(element, visible) { element.classList.toggle("d-none", !visible); }

  function stop() {
    if (stream) { stream.getTracks().forEach(function (track) { track.stop(); }); }
    stream = null;
  }

  function explain(error) {
    var name = error && error.name;
    if (name === "NotAllowedError" || name === "SecurityError" || name === "PermissionDeniedError") { say("denied"); }
    else if (name === "NotFoundError" || name === "OverconstrainedError" || name === "DevicesNotFoundError") { say("missing"); }
    else { say("failed"); }
    toggle(box, false);
  }

  function start() {
    stop();
    var constraints = { audio: false, video: { facingMode: { ideal: facing }, width: { ideal: 1920 }, height: { ideal: 1080 } } };
    return navigator.mediaDevices.getUserMedia(constraints).then(function (media) {
      stream = media;
      video.srcObject = media;
      say("");
      toggle(box, true);
      showLive();
      return navigator.mediaDevices.enumerateDevices ? navigator.mediaDevices.enumerateDevices() : [];
    }).then(function (devices) {
      var cameras = (devices || []).filter(function (device) { return device.kind === "videoinput"; });
      toggle(switchButton, cameras.length > 1);
    }).catch(explain);
  }

  function showLive() {
    toggle(video, true);
    toggle(still, false);
    toggle(captureButton, true);
    toggle(retakeButton, false);
    toggle(sendButton, false);
    if (stillUrl) { URL.revokeObjectURL(stillUrl); stillUrl = null; }
    photo = null;
    advise(null);
  }

  function capture() {
    if (!video.videoWidth) { return; }
    var canvas = document.createElement("canvas");
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
    canvas.toBlob(function (blob) {
      if (!blob) { say("failed"); return; }
      photo = blob;
      stillUrl = URL.createObjectURL(blob);
      still.src = stillUrl;
      toggle(video, false);
      toggle(still, true);
      toggle(captureButton, false);
      toggle(switchButton, false);
      toggle(retakeButton, true);
      toggle(sendButton, true);
      advise(blob);
    }, "image/jpeg", 0.92);
  }

  function showErrorsFrom(html) {
    var page = new DOMParser().parseFromString(html, "text/html");
    var found = page.getElementById("upload-errors");
    if (found && errors) {
      errors.innerHTML = found.innerHTML;
      errors.classList.toggle("d-none", found.classList.contains("d-none"));
    } else {
      say("send-failed");
    }
  }

  function send() {
    if (!photo) { return; }
    sendButton.disabled = true;
    retakeButton.disabled = true;
    say("sending");
    var data = new FormData(form);
    data.set("image", photo, "camera.jpg");
    fetch(form.action, { method: "POST", body: data, credentials: "same-origin" })
      .then(function (response) {
        if (response.redirected) {
          stop();
          window.location.assign(response.url);
          return null;
        }
        return response.text().then(function (html) { say(""); showErrorsFrom(html); });
      })
      .catch(function () { say("send-failed"); })
      .then(function () { sendButton.disabled = false; retakeButton.disabled = false; });
  }

  // The fallback input is checked too (HEIC and other formats this browser cannot draw: no
  // advice, the server checks them).
  if (fileInput) {
    fileInput.addEventListener("change", function () { advise(fileInput.files && fileInput.files[0]); });
  }

  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia || !window.fetch || !window.FormData) {
    say("unsupported");
    return;
  }
  captureButton.addEventListener("click", capture);
  retakeButton.addEventListener("click", showLive);
  sendButton.addEventListener("click", send);
  switchButton.addEventListener("click", function () {
    facing = facing === "environment" ? "user" : "environment";
    start();
  });
  window.addEventListener("pagehide", stop);
  start();
})();
