// The worker's "too poor to judge" checks (mltrain/ml/quality.py), run in the browser for
// instant advice before sending. The limits and the advice come from the page (json_script
// "quality-limits" and "quality-messages", rendered from the server's own definition and
// wording), so nothing here may hold a number or a sentence of its own.
//
// This only ever advises: it never blocks sending. The browser decodes and scales a photo a
// little differently from Pillow, so a borderline photo can be judged differently here; the
// server's verdict is the one that counts.
(function () {
  "use strict";

  function readJson(id) {
    var element = document.getElementById(id);
    if (!element) { return null; }
    try { return JSON.parse(element.textContent); } catch (error) { return null; }
  }

  var limits = readJson("quality-limits");
  var messages = readJson("quality-messages");

  // Python's round(): halves go to the even neighbour.
  function pyRound(value) {
    var rounded = Math.round(value);
    if (Math.abs(value % 1) === 0.5 && rounded % 2 !== 0) { rounded -= 1; }
    return rounded;
  }

  // quality.grey_for_analysis: grey levels (Pillow's convert("L") weights, rounded) of the photo
  // scaled so its shorter side is analysisSide px, never enlarged.
  function greyForAnalysis(source, width, height) {
    var short = Math.min(width, height);
    var w = width;
    var h = height;
    if (short > limits.analysisSide) {
      var scale = limits.analysisSide / short;
      w = Math.max(1, pyRound(width * scale));
      h = Math.max(1, pyRound(height * scale));
    }
    var canvas = document.createElement("canvas");
    canvas.width = w;
    canvas.height = h;
    var context = canvas.getContext("2d", { willReadFrequently: true });
    context.imageSmoothingEnabled = true;
    context.imageSmoothingQuality = "high";
    context.drawImage(source, 0, 0, w, h);
    var rgba = context.getImageData(0, 0, w, h).data;
    var grey = new Float32Array(w * h);
    for (var i = 0, p = 0; i < grey.length; i += 1, p += 4) {
      grey[i] = Math.round((rgba[p] * 299 + rgba[p + 1] * 587 + rgba[p + 2] * 114) / 1000);
    }
    return { data: grey, width: w, height: h };
  }

  // quality.laplacian_variance: variance of the 4-neighbour Laplacian over interior pixels.
  function laplacianVariance(grey) {
    var w = grey.width;
    var h = grey.height;
    if (w < 3 || h < 3) { return 0; }
    var d = grey.data;
    var count = (w - 2) * (h - 2);
    var sum = 0;
    var sumSquares = 0;
    for (var y = 1; y < h - 1; y += 1) {
      for (var x = 1; x < w - 1; x += 1) {
        var i = y * w + x;
        var lap = d[i - w] + d[i + w] + d[i - 1] + d[i + 1] - 4 * d[i];
        sum += lap;
        sumSquares += lap * lap;
      }
    }
    var mean = sum / count;
    return Math.max(0, sumSquares / count - mean * mean);
  }

  // quality.assess: the first issue, in the same order as the server (null: none found).
  function assess(source, width, height) {
    var grey = greyForAnalysis(source, width, height);
    var total = 0;
    var clipped = 0;
    for (var i = 0; i < grey.data.length; i += 1) {
      total += grey.data[i];
      if (grey.data[i] >= limits.clippedLevel) { clipped += 1; }
    }
    var n = grey.data.length;
    var brightness = n ? total / n : 0;
    var clippedShare = n ? clipped / n : 0;
    if (Math.min(width, height) < limits.minSide) { return "too_small"; }
    if (brightness < limits.darkMean) { return "too_dark"; }
    if (clippedShare > limits.overexposedShare) { return "overexposed"; }
    if (laplacianVariance(grey) < limits.blurVariance) { return "blurred"; }
    return null;
  }

  // Resolves to {issue, title, fix} or null (fine, or nothing to say: no limits on the page, or a
  // photo this browser cannot decode, such as HEIC, which the server checks anyway).
  function check(blob) {
    if (!limits || !messages || !blob || !window.createImageBitmap) { return Promise.resolve(null); }
    return window.createImageBitmap(blob).then(function (bitmap) {
      var issue = assess(bitmap, bitmap.width, bitmap.height);
      if (bitmap.close) { bitmap.close(); }
      var advice = issue && messages[issue];
      return advice ? { issue: issue, title: advice.title, fix: advice.fix } : null;
    }).catch(function () { return null; });
  }

  // Empty ``box`` (a role="status" element that stays in the page, so screen readers announce
  // what appears in it) while a photo is being chosen or checked.
  function clear(box) {
    if (!box) { return; }
    box.textContent = "";
    box.removeAttribute("data-quality-issue");
    box.removeAttribute("data-quality-checked");
  }

  // Show the check's answer in ``box``: the advice, or nothing (null: no issue found).
  function show(box, result) {
    if (!box) { return; }
    clear(box);
    box.setAttribute("data-quality-checked", "");
    if (!result) { return; }
    box.setAttribute("data-quality-issue", result.issue);
    var alert = document.createElement("div");
    alert.className = "alert alert-warning small mt-2 mb-0 text-start";
    var title = document.createElement("p");
    title.className = "fw-semibold mb-1";
    title.setAttribute("data-quality-title", "");
    title.textContent = result.title;
    var fix = document.createElement("p");
    fix.className = "mb-0";
    fix.setAttribute("data-quality-fix", "");
    fix.textContent = result.fix;
    alert.appendChild(title);
    alert.appendChild(fix);
    box.appendChild(alert);
  }

  window.skinsiteQuality = { check: check, clear: clear, show: show };
})();
