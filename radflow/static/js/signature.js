/* A small signature pad: pointer strokes on a <canvas> become an SVG path ("M x y L x y …")
 * written into a hidden input, so the server stores text and draws it back as <path d>.
 * Pointer events cover mouse, pen and touch. No inline script: the page's CSP allows only 'self'.
 *
 * Markup: <div data-signature-pad data-input="id_of_hidden_input">
 *           <canvas width="600" height="200"></canvas>
 *           <button type="button" data-signature-clear>Clear</button>
 *         </div>
 */
(function () {
  "use strict";

  var MAX_CHARS = 190000; // the server refuses more than 200 kB

  function setUp(pad) {
    var canvas = pad.querySelector("canvas");
    var input = document.getElementById(pad.getAttribute("data-input"));
    if (!canvas || !input || !canvas.getContext) {
      return;
    }
    var ctx = canvas.getContext("2d");
    var drawing = false;
    var last = null;
    var path = input.value || "";

    ctx.lineWidth = 2.5;
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    ctx.strokeStyle = "#111827";

    function point(event) {
      // The canvas is scaled by CSS; store coordinates in its own 600 × 200 space.
      var box = canvas.getBoundingClientRect();
      var x = ((event.clientX - box.left) * canvas.width) / box.width;
      var y = ((event.clientY - box.top) * canvas.height) / box.height;
      return { x: Math.round(x * 10) / 10, y: Math.round(y * 10) / 10 };
    }

    function add(command, p) {
      var piece = (path ? " " : "") + command + p.x + " " + p.y;
      if (path.length + piece.length > MAX_CHARS) {
        return false;
      }
      path += piece;
      input.value = path;
      return true;
    }

    function redraw() {
      // Draw a stored path back (after a form came back with errors).
      ctx.clearRect(0, 0, canvas.width, canvas.height);
      var parts = path.match(/[ML][^ML]*/g) || [];
      ctx.beginPath();
      parts.forEach(function (part) {
        var nums = part.slice(1).trim().split(/[\s,]+/).map(Number);
        if (nums.length < 2 || isNaN(nums[0]) || isNaN(nums[1])) {
          return;
        }
        if (part.charAt(0) === "M") {
          ctx.moveTo(nums[0], nums[1]);
          ctx.lineTo(nums[0] + 0.1, nums[1] + 0.1);
        } else {
          ctx.lineTo(nums[0], nums[1]);
        }
      });
      ctx.stroke();
    }

    canvas.addEventListener("pointerdown", function (event) {
      event.preventDefault();
      canvas.setPointerCapture(event.pointerId);
      drawing = true;
      last = point(event);
      if (add("M", last)) {
        ctx.beginPath();
        ctx.moveTo(last.x, last.y);
        ctx.lineTo(last.x + 0.1, last.y + 0.1);
        ctx.stroke();
      }
    });

    canvas.addEventListener("pointermove", function (event) {
      if (!drawing) {
        return;
      }
      event.preventDefault();
      var p = point(event);
      if (Math.abs(p.x - last.x) + Math.abs(p.y - last.y) < 1.5) {
        return; // skip jitter: keeps the path small
      }
      if (add("L", p)) {
        ctx.beginPath();
        ctx.moveTo(last.x, last.y);
        ctx.lineTo(p.x, p.y);
        ctx.stroke();
        last = p;
      }
    });

    function stop() {
      drawing = false;
      last = null;
    }
    canvas.addEventListener("pointerup", stop);
    canvas.addEventListener("pointercancel", stop);

    var clear = pad.querySelector("[data-signature-clear]");
    if (clear) {
      clear.addEventListener("click", function () {
        path = "";
        input.value = "";
        ctx.clearRect(0, 0, canvas.width, canvas.height);
      });
    }

    if (path) {
      redraw();
    }
  }

  function init() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-signature-pad]"), setUp);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
