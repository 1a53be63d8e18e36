// Site-wide behaviour that needs no page-specific code.
(function () {
  "use strict";
  // Forms marked data-once disable their submit buttons after the first submit, so a double
  // click cannot send the same thing twice (the server also deduplicates).
  document.querySelectorAll("form[data-once]").forEach(function (form) {
    form.addEventListener("submit", function () {
      form.querySelectorAll("button[type=submit], input[type=submit]").forEach(function (button) {
        window.setTimeout(function () { button.disabled = true; }, 0);
      });
    });
  });
})();
