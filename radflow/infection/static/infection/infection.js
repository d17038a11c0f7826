/* Infection pages: a probe picked from the list fills the serial input, as a scan would. */
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var button = event.target instanceof Element ? event.target.closest("[data-fill]") : null;
    if (!button) {
      return;
    }
    var input = document.querySelector(button.getAttribute("data-fill"));
    if (input) {
      input.value = button.getAttribute("data-value");
      input.focus();
    }
  });
})();
