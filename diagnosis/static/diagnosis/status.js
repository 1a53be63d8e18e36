// Result page: while the check is queued or running, ask the small status endpoint and swap in
// the result panel it renders. No full-page reloads; slower polling the longer it takes.
(function () {
  "use strict";
  var panel = document.getElementById("diagnosis-result");
  if (!panel || panel.getAttribute("data-finished") === "true") { return; }
  var url = panel.getAttribute("data-status-url");
  var interval = parseInt(panel.getAttribute("data-poll-interval"), 10) || 1000;
  var started = Date.now();
  var failures = 0;

  function nextDelay() {
    var waited = Date.now() - started;
    var base = waited < 30000 ? interval : waited < 300000 ? 5000 : 15000;
    return Math.min(base * Math.pow(2, failures), 30000);
  }

  function schedule() { window.setTimeout(poll, nextDelay()); }

  function poll() {
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(function (data) {
        failures = 0;
        panel.innerHTML = data.html;
        if (data.finished) {
          panel.setAttribute("data-finished", "true");
          return;
        }
        schedule();
      })
      .catch(function () {
        failures = Math.min(failures + 1, 4);
        var note = panel.querySelector("[data-offline-note]");
        if (!note) {
          note = document.createElement("p");
          note.className = "small text-warning mt-2";
          note.setAttribute("data-offline-note", "");
          note.textContent = panel.getAttribute("data-offline");
          panel.appendChild(note);
        }
        schedule();
      });
  }

  schedule();
})();
