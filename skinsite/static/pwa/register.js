// Registers the service worker (skinsite.pwa): the URL and scope come from this script's
// data attributes, as the Content-Security-Policy allows no inline script.
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || !("serviceWorker" in navigator)) {
    return;
  }
  window.addEventListener("load", function () {
    navigator.serviceWorker
      .register(script.getAttribute("data-worker"), { scope: script.getAttribute("data-scope") })
      .catch(function () { /* no app shell offline; the site itself works as before */ });
  });
})();
