// Upload page: preview the chosen photo, accept drag-and-drop, refuse early what the server
// would refuse (too large, not an image). The limits and messages are the server's own, from
// the form's data- attributes; the server still validates everything again. The photo's quality
// (quality.js) is only advice: it never stops the photo from being sent.
(function () {
  "use strict";
  var form = document.querySelector("form[data-upload-form]");
  if (!form) { return; }
  var input = form.querySelector("input[type=file]");
  var zone = form.querySelector("[data-drop-zone]");
  var preview = form.querySelector("[data-preview]");
  var previewImage = form.querySelector("[data-preview-image]");
  var caption = form.querySelector("[data-preview-caption]");
  var problem = form.querySelector("[data-client-error]");
  var noPreview = form.querySelector("[data-no-preview]");
  var qualityBox = form.querySelector("[data-quality-status]");
  var quality = window.skinsiteQuality;
  var chosen = 0;  // which choice a quality check belongs to (a later choice wins)
  var maxBytes = parseInt(form.getAttribute("data-max-bytes"), 10) || 0;
  var objectUrl = null;
  // The chosen file's check: a promise of "" (fine) or the refusal to show, and its result
  // once known (null while the file's first bytes are being read).
  var verdict = Promise.resolve("");
  var refusal = "";

  function say(message) {
    problem.textContent = message || "";
    problem.classList.toggle("d-none", !message);
  }

  function startsWith(bytes, offset, text) {
    for (var i = 0; i < text.length; i += 1) {
      if (bytes[offset + i] !== text.charCodeAt(i)) { return false; }
    }
    return true;
  }

  // What the first bytes say the file is (never its name or the browser's type, as on the
  // server): "heif" for HEIC/HEIF (ISO boxes with a HEIF brand), "image" for the other
  // accepted formats, "" for anything else.
  function kindOf(bytes) {
    if (bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) { return "image"; }
    if (startsWith(bytes, 0, "\u0089PNG\r\n\u001a\n")) { return "image"; }
    if (startsWith(bytes, 0, "GIF8")) { return "image"; }
    if (startsWith(bytes, 0, "RIFF") && startsWith(bytes, 8, "WEBP")) { return "image"; }
    if (startsWith(bytes, 4, "ftyp")) {
      var brand = String.fromCharCode.apply(null, Array.prototype.slice.call(bytes, 8, 12));
      if (/^(heic|heix|heim|heis|hevc|hevx|hevm|hevs|mif1|msf1)$/.test(brand)) { return "heif"; }
    }
    return "";
  }

  function readHead(file) {
    return file.slice(0, 16).arrayBuffer().then(function (buffer) {
      return new Uint8Array(buffer);
    });
  }

  function clear() {
    say("");
    chosen += 1;
    if (quality) { quality.clear(qualityBox); }
    noPreview.classList.add("d-none");
    preview.classList.add("d-none");
    previewImage.onerror = null;
    previewImage.removeAttribute("src");
    if (objectUrl) { URL.revokeObjectURL(objectUrl); objectUrl = null; }
  }

  function showPreview(file, kind) {
    var size = file.size >= 1024 * 1024
      ? (file.size / (1024 * 1024)).toFixed(1) + " MB"
      : Math.max(1, Math.round(file.size / 1024)) + " kB";
    caption.textContent = file.name + " · " + size;
    objectUrl = URL.createObjectURL(file);
    previewImage.onerror = function () {
      // No preview, but the server reads it: HEIC in most desktop browsers. Any other format
      // the browser cannot draw is left to the server's verdict, without a promise.
      previewImage.removeAttribute("src");
      preview.classList.add("d-none");
      noPreview.classList.toggle("d-none", kind !== "heif");
    };
    previewImage.src = objectUrl;
    preview.classList.remove("d-none");
  }

  function check(file) {
    clear();
    if (!file) { return Promise.resolve(""); }
    if (maxBytes && file.size > maxBytes) { return Promise.resolve(problem.getAttribute("data-too-large")); }
    return readHead(file).then(function (bytes) {
      var kind = kindOf(bytes);
      if (!kind) { return problem.getAttribute("data-not-image"); }
      showPreview(file, kind);
      if (kind !== "heif") { advise(file); }
      return "";
    }, function () {
      return "";  // unreadable here: let the server decide
    });
  }

  // Advice on the photo's quality, shown beside the preview; the server's verdict counts, so
  // sending stays possible whatever this says.
  function advise(file) {
    if (!quality) { return; }
    var mine = chosen;
    quality.check(file).then(function (result) {
      if (mine === chosen) { quality.show(qualityBox, result); }
    });
  }

  function choose(file) {
    refusal = null;
    verdict = check(file).then(function (result) {
      refusal = result;
      say(result);
      return result;
    });
  }

  input.addEventListener("change", function () { choose(input.files && input.files[0]); });

  form.addEventListener("submit", function (event) {
    if (refusal === "") { return; }  // checked and fine: send
    event.preventDefault();
    if (refusal) {
      say(refusal);
      problem.scrollIntoView({ block: "center" });
      return;
    }
    // Still reading the file's first bytes (a fast click): send once that is done.
    verdict.then(function (result) {
      if (!result) { form.requestSubmit(); }
    });
  });

  if ("draggable" in document.createElement("span") && window.DataTransfer) {
    form.querySelector("[data-drop-hint]").classList.remove("d-none");
    ["dragenter", "dragover"].forEach(function (name) {
      zone.addEventListener(name, function (event) {
        event.preventDefault();
        zone.classList.add("is-dragover");
      });
    });
    ["dragleave", "drop"].forEach(function (name) {
      zone.addEventListener(name, function (event) {
        event.preventDefault();
        zone.classList.remove("is-dragover");
      });
    });
    zone.addEventListener("drop", function (event) {
      var files = event.dataTransfer && event.dataTransfer.files;
      if (!files || !files.length) { return; }
      var transfer = new DataTransfer();
      transfer.items.add(files[0]);
      input.files = transfer.files;
      choose(files[0]);
    });
  }
})();
