// Loaded synchronously in <head>: picks the theme before the first paint so the page never
// flashes light before turning dark. "auto" follows the system setting, live.
(function () {
  "use strict";
  var root = document.documentElement;
  if (root.getAttribute("data-theme-choice") !== "auto") { return; }
  var query = window.matchMedia ? window.matchMedia("(prefers-color-scheme: dark)") : null;
  function apply() { root.setAttribute("data-bs-theme", query && query.matches ? "dark" : "light"); }
  apply();
  if (query && query.addEventListener) { query.addEventListener("change", apply); }
})();
