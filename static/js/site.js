// Site-wide behaviour that needs no page-specific code.
(function () {
  "use strict";
  // The person's time zone as their device reports it: saved on their profile when it differs,
  // so the server writes times in it. A page with times for another offset is loaded again, once.
  var root = document.documentElement;
  var zoneUrl = root.getAttribute("data-time-zone-url");
  var zone = window.Intl ? Intl.DateTimeFormat().resolvedOptions().timeZone : "";
  var token = document.querySelector("input[name=csrfmiddlewaretoken]");
  if (zoneUrl && zone && token && zone !== root.getAttribute("data-saved-time-zone")) {
    var sent = "time-zone-sent:" + zone;
    var first = true;
    try {
      first = !window.sessionStorage.getItem(sent);  // a zone the site refused: not again
      window.sessionStorage.setItem(sent, "1");
    } catch (error) { /* storage blocked: send anyway */ }
    if (first) {
      var body = new FormData();
      body.append("time_zone", zone);
      fetch(zoneUrl, {
        method: "POST", body: body, credentials: "same-origin",
        headers: { "X-CSRFToken": token.value }
      }).then(function (response) {
        // Times on this page were written for another offset than the device's: show them again.
        var offset = String(-new Date().getTimezoneOffset() * 60);
        var stale = offset !== root.getAttribute("data-time-zone-offset");
        if (response.ok && stale && document.querySelector("[data-time-zone]")) {
          window.location.reload();
        }
      });
    }
  }

  // Forms marked data-once disable their submit buttons after the first submit, so a double
  // click cannot send the same thing twice (the server also deduplicates).
  document.querySelectorAll("form[data-once]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      form.querySelectorAll("button[type=submit], input[type=submit]").forEach(function (button) {
        // After every listener ran: a page script that refused the submission (the upload
        // page's early checks) leaves the button usable.
        window.setTimeout(function () { button.disabled = !event.defaultPrevented; }, 0);
      });
    });
  });
})();
