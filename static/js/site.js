// Site-wide behaviour that needs no page-specific code.
(function () {
  "use strict";
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
