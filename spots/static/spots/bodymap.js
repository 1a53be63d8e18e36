// On a form, a body-map region fills the "place on the body" select instead of leaving the page
// (the photo already chosen would be lost). Elsewhere its links open their pages as usual.
(function () {
  "use strict";
  document.querySelectorAll("[data-body-map-picker]").forEach(function (picker) {
    var select = picker.querySelector("[data-region-select]");
    if (!select) {
      return;
    }
    function show(key) {
      picker.querySelectorAll("[data-region]").forEach(function (region) {
        region.classList.toggle("is-selected", region.getAttribute("data-region") === key);
      });
    }
    picker.addEventListener("click", function (event) {
      var link = event.target.closest("[data-region], [data-region-link]");
      if (!link) {
        return;
      }
      event.preventDefault();
      var key = link.getAttribute("data-region") || link.getAttribute("data-region-link");
      select.value = key;
      show(key);
      select.focus();
    });
    select.addEventListener("change", function () {
      show(select.value);
    });
  });
})();
