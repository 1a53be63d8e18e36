// Upload page: preview the chosen photo, accept drag-and-drop, warn early about size/type.
// The server validates everything again; this only saves a wasted upload.
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
  var maxBytes = parseInt(form.getAttribute("data-max-bytes"), 10) || 0;
  var objectUrl = null;

  function say(message) {
    problem.textContent = message || "";
    problem.classList.toggle("d-none", !message);
  }

  function looksLikePhoto(file) {
    return /^image\//.test(file.type) || /\.(heic|heif|jpe?g|png|webp)$/i.test(file.name);
  }

  function show(file) {
    say("");
    if (objectUrl) { URL.revokeObjectURL(objectUrl); objectUrl = null; }
    if (!file) { preview.classList.add("d-none"); return; }
    if (maxBytes && file.size > maxBytes) { say(problem.getAttribute("data-too-large")); }
    else if (!looksLikePhoto(file)) { say(problem.getAttribute("data-not-image")); }
    var size = file.size >= 1024 * 1024
      ? (file.size / (1024 * 1024)).toFixed(1) + " MB"
      : Math.max(1, Math.round(file.size / 1024)) + " kB";
    caption.textContent = file.name + " · " + size;
    objectUrl = URL.createObjectURL(file);
    previewImage.onerror = function () {
      // HEIC in most desktop browsers: no preview, but the server reads it.
      previewImage.removeAttribute("src");
      say(problem.getAttribute("data-no-preview"));
    };
    previewImage.src = objectUrl;
    preview.classList.remove("d-none");
  }

  input.addEventListener("change", function () { show(input.files && input.files[0]); });

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
      show(files[0]);
    });
  }
})();
