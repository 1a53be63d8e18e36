// The worker's "too poor to judge" checks (mltrain/ml/quality.py), run in the browser for
// instant advice before sending. The limits and the advice come from the page (json_script
// "quality-limits" and "quality-messages", rendered from the server's own definition and
// wording), so nothing here may hold a number or a sentence of its own.
//
// This only ever advises: it never blocks sending. The numbers match Pillow's on the same
// pixels, but the worker reads a big JPEG at a reduced size first (Pillow's draft mode) and
// the browser decodes with its own code, so a borderline photo can be judged differently here:
// the server's verdict is the one that counts.
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

  // Pillow's convert("L"): L = R * 299/1000 + G * 587/1000 + B * 114/1000, computed as Pillow
  // does, in 16-bit fixed point and rounded (the decimal form differs by one level on a few
  // pixels).
  function greyOf(rgba, count) {
    var grey = new Uint8Array(count);
    for (var i = 0, p = 0; i < count; i += 1, p += 4) {
      grey[i] = (rgba[p] * 19595 + rgba[p + 1] * 38470 + rgba[p + 2] * 7471 + 0x8000) >>> 16;
    }
    return grey;
  }

  // Pillow's BILINEAR resize of an 8-bit image along one axis (Resample.c: a triangle filter
  // widened by the scale, so a reduction averages every source pixel; weights in 22-bit fixed
  // point). ``stride`` and ``step`` walk the axis; ``lines`` is the size across it.
  var PRECISION = 4194304;  // 1 << 22
  function resampleAxis(src, inSize, outSize, lines, lineStep, step, outLineStep, outStep) {
    var scale = inSize / outSize;
    var filterScale = Math.max(scale, 1);
    var support = filterScale;  // the bilinear filter's support (1) times the scale
    var out = new Uint8Array(outSize * lines);
    for (var o = 0; o < outSize; o += 1) {
      var center = (o + 0.5) * scale;
      var first = Math.max(0, Math.trunc(center - support + 0.5));
      var last = Math.min(inSize, Math.trunc(center + support + 0.5));
      var weights = [];
      var total = 0;
      for (var i = first; i < last; i += 1) {
        var w = Math.max(0, 1 - Math.abs((i - center + 0.5) / filterScale));
        weights.push(w);
        total += w;
      }
      for (var k = 0; k < weights.length; k += 1) {
        weights[k] = Math.trunc(0.5 + (total ? weights[k] / total : weights[k]) * PRECISION);
      }
      for (var line = 0; line < lines; line += 1) {
        var sum = PRECISION / 2;
        var base = line * lineStep + first * step;
        for (var j = 0; j < weights.length; j += 1) { sum += src[base + j * step] * weights[j]; }
        out[line * outLineStep + o * outStep] = Math.min(255, Math.max(0, Math.floor(sum / PRECISION)));
      }
    }
    return out;
  }

  // quality.grey_for_analysis: the grey photo with its shorter side at analysisSide px, never
  // enlarged (Pillow resizes across, then down).
  function greyForAnalysis(source, width, height) {
    var canvas = document.createElement("canvas");
    canvas.width = width;
    canvas.height = height;
    var context = canvas.getContext("2d", { willReadFrequently: true });
    context.drawImage(source, 0, 0);
    var grey = greyOf(context.getImageData(0, 0, width, height).data, width * height);
    canvas.width = canvas.height = 0;  // let the browser drop the full-size pixels now
    var w = width;
    var h = height;
    var short = Math.min(width, height);
    if (short > limits.analysisSide) {
      var scale = limits.analysisSide / short;
      w = Math.max(1, pyRound(width * scale));
      h = Math.max(1, pyRound(height * scale));
    }
    if (w !== width) { grey = resampleAxis(grey, width, w, height, width, 1, w, 1); }
    if (h !== height) { grey = resampleAxis(grey, height, h, w, 1, w, 1, w); }
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

  // quality.assess: the measurements and the first issue, in the same order as the server
  // (issue null: none found).
  function assess(source, width, height) {
    var grey = greyForAnalysis(source, width, height);
    var total = 0;
    var clipped = 0;
    for (var i = 0; i < grey.data.length; i += 1) {
      total += grey.data[i];
      if (grey.data[i] >= limits.clippedLevel) { clipped += 1; }
    }
    var n = grey.data.length;
    var report = {
      issue: null,
      shortSide: Math.min(width, height),
      brightness: n ? total / n : 0,
      clippedShare: n ? clipped / n : 0,
      sharpness: laplacianVariance(grey)
    };
    if (report.shortSide < limits.minSide) { report.issue = "too_small"; }
    else if (report.brightness < limits.darkMean) { report.issue = "too_dark"; }
    else if (report.clippedShare > limits.overexposedShare) { report.issue = "overexposed"; }
    else if (report.sharpness < limits.blurVariance) { report.issue = "blurred"; }
    return report;
  }

  // Resolves to the report of a photo (a File or Blob), or null when there is nothing to say:
  // no limits on the page, or a photo this browser cannot decode, such as HEIC, which the
  // server checks anyway.
  function measure(blob) {
    if (!limits || !blob || !window.createImageBitmap) { return Promise.resolve(null); }
    return window.createImageBitmap(blob).then(function (bitmap) {
      var report = assess(bitmap, bitmap.width, bitmap.height);
      if (bitmap.close) { bitmap.close(); }
      return report;
    }).catch(function () { return null; });
  }

  // Resolves to the advice for a photo, {issue, title, fix}, or null (fine, or nothing to say).
  function check(blob) {
    return measure(blob).then(function (report) {
      var advice = report && report.issue && messages && messages[report.issue];
      return advice ? { issue: report.issue, title: advice.title, fix: advice.fix } : null;
    });
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

  window.skinsiteQuality = { measure: measure, check: check, clear: clear, show: show };
})();
