/* Ticks every [data-due] countdown each second, in the words radflow.core.sla.format_remaining uses.
   The server re-renders the board every few seconds anyway; this only keeps the minutes honest between. */
(function () {
  "use strict";

  function pad(n) {
    return n < 10 ? "0" + n : String(n);
  }

  function format(ms) {
    var seconds = ms < 0 ? Math.ceil(ms / 1000) : Math.floor(ms / 1000);
    var prefix = seconds < 0 ? "overdue " : "";
    var minutes = Math.floor(Math.abs(seconds) / 60);
    var days = Math.floor(minutes / 1440);
    var rest = minutes % 1440;
    var hours = Math.floor(rest / 60);
    var mins = rest % 60;
    if (days) {
      return prefix + days + " d " + hours + " h";
    }
    if (hours) {
      return prefix + hours + " h " + pad(mins) + " min";
    }
    return prefix + mins + " min";
  }

  function tick() {
    var now = Date.now();
    document.querySelectorAll("[data-due]").forEach(function (element) {
      var due = Date.parse(element.getAttribute("data-due"));
      if (isNaN(due)) {
        return;
      }
      var left = due - now;
      element.textContent = format(left);
      if (left < 0 && element.classList.contains("badge")) {
        element.classList.remove("badge-ok", "badge-warn");
        element.classList.add("badge-bad");
      }
    });
  }

  window.setInterval(tick, 1000);
})();
