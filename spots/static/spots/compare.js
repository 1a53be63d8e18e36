// Then vs now: the range input uncovers the later photo over the earlier one. The clip is set
// through the CSSOM (allowed by the CSP, unlike style attributes). In a right-to-left page the
// slider runs from the right, so the later photo is uncovered from that side.
(function () {
  "use strict";
  var slider = document.querySelector("[data-compare-slider]");
  var range = document.querySelector("[data-compare-range]");
  if (!slider || !range) {
    return;
  }
  var over = slider.querySelector("[data-compare-over]");
  var rtl = document.documentElement.dir === "rtl";
  function show() {
    var hidden = 100 - Number(range.value);
    over.style.clipPath = rtl ? "inset(0 0 0 " + hidden + "%)" : "inset(0 " + hidden + "% 0 0)";
  }
  range.addEventListener("input", show);
  show();
})();
