/* Schedule board behaviour: position blocks from their minutes, drag-and-drop moves, the move
   dialog and the now line. Loaded only by the board pages; no inline scripts (CSP). */
(function () {
  "use strict";

  function ppm(board) {
    var value = parseFloat(getComputedStyle(board).getPropertyValue("--ppm"));
    return value > 0 ? value : 1.6;
  }

  // data-top / data-height (minutes) -> CSS custom properties the stylesheet multiplies.
  function position(root) {
    var board = root.closest ? root.closest(".board") || root.querySelector(".board") : null;
    if (!board) {
      board = document.querySelector(".board");
    }
    if (!board) {
      return;
    }
    board.classList.add("board-js");
    board.querySelectorAll("[data-top]").forEach(function (el) {
      el.style.setProperty("--top", el.getAttribute("data-top"));
    });
    board.querySelectorAll("[data-height]").forEach(function (el) {
      el.style.setProperty("--height", el.getAttribute("data-height"));
    });
    roomStatusForms(board);
    nowLine(board);
  }

  // Coordinators: the room-status form (from the page's <template>) in each room's column.
  function roomStatusForms(board) {
    var template = document.getElementById("room-status-template");
    if (!template) {
      return;
    }
    // Keep the time axis level with the columns, which gain a row.
    var axis = board.querySelector(".board-axis .board-col-head");
    if (axis && !board.querySelector(".room-status-spacer")) {
      var spacer = document.createElement("div");
      spacer.className = "room-status-spacer";
      axis.parentNode.insertBefore(spacer, axis.nextSibling);
    }
    board.querySelectorAll("section.board-col[data-room]").forEach(function (column) {
      if (column.querySelector(".room-status")) {
        return;
      }
      var room = column.getAttribute("data-room");
      var part = template.content.cloneNode(true);
      part.querySelector("input[name='room']").value = room;
      part.querySelectorAll("[data-id]").forEach(function (field) {
        field.id = field.getAttribute("data-id") + "-" + room;
      });
      part.querySelectorAll("label[data-for]").forEach(function (label) {
        label.setAttribute("for", label.getAttribute("data-for") + "-" + room);
      });
      part.querySelector("select[name='status']").value = column.getAttribute("data-room-status") || "in_service";
      part.querySelector("input[name='note']").value = column.getAttribute("data-room-note") || "";
      var head = column.querySelector(".board-col-head");
      head.parentNode.insertBefore(part, head.nextSibling);
    });
  }

  function nowLine(board) {
    var start = board.getAttribute("data-start");
    var old = board.querySelector(".now-line");
    if (old) {
      old.remove();
    }
    if (!start) {
      return;
    }
    var first = parseInt(board.getAttribute("data-first"), 10) || 0;
    var height = parseInt(board.getAttribute("data-height"), 10) || 0;
    var minute = (Date.now() - Date.parse(start)) / 60000 - first;
    if (minute < 0 || minute > height) {
      return;
    }
    var lane = board.querySelector(".board-lane:not(.axis-lane)");
    if (!lane) {
      return;
    }
    var line = document.createElement("div");
    line.className = "now-line";
    line.setAttribute("aria-hidden", "true");
    line.style.setProperty("top", (lane.offsetTop + minute * ppm(board)) + "px");
    board.appendChild(line);
  }

  function csrfToken() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
    } catch (error) {
      return "";
    }
  }

  function announce(message) {
    var region = document.getElementById("board-announce");
    if (region && message) {
      region.textContent = message;
    }
  }

  function dialog() {
    return document.getElementById("move-dialog");
  }

  function openDialog(html) {
    var box = dialog();
    if (!box) {
      return;
    }
    var body = document.getElementById("move-dialog-body");
    if (html !== undefined) {
      body.innerHTML = html;
      if (window.htmx) {
        window.htmx.process(body);
      }
    }
    if (!box.open) {
      box.showModal();
    }
  }

  // After a move: the polled board body listens for "board-changed" and reloads itself.
  function changed(message) {
    document.body.dispatchEvent(
      new CustomEvent("board-changed", { bubbles: true, detail: { message: message } })
    );
  }

  // --- drag and drop ---------------------------------------------------------------------------
  var drag = null;

  function laneMinute(lane, clientY) {
    var board = lane.closest(".board");
    var first = parseInt(board.getAttribute("data-first"), 10) || 0;
    var snap = parseInt(board.getAttribute("data-snap"), 10) || 5;
    var offset = clientY - lane.getBoundingClientRect().top - (drag ? drag.grabY : 0);
    var minute = first + Math.max(0, offset) / ppm(board);
    return Math.round(minute / snap) * snap;
  }

  function label(minute, lane) {
    var board = lane.closest(".board");
    var start = board.getAttribute("data-start");
    if (lane.getAttribute("data-mode") === "wall" || !start) {
      return pad(Math.floor(minute / 60)) + ":" + pad(minute % 60);
    }
    var when = new Date(Date.parse(start) + minute * 60000);
    return pad(when.getHours()) + ":" + pad(when.getMinutes());
  }

  function pad(n) {
    return (n < 10 ? "0" : "") + n;
  }

  function marker(lane, minute) {
    var mark = lane.querySelector(".drop-marker");
    if (!mark) {
      mark = document.createElement("div");
      mark.className = "drop-marker";
      mark.appendChild(document.createElement("span"));
      lane.appendChild(mark);
    }
    var board = lane.closest(".board");
    var first = parseInt(board.getAttribute("data-first"), 10) || 0;
    mark.style.setProperty("top", ((minute - first) * ppm(board)) + "px");
    mark.firstChild.textContent = label(minute, lane);
  }

  function clearMarkers() {
    document.querySelectorAll(".drop-marker").forEach(function (m) { m.remove(); });
    document.querySelectorAll(".drop-target").forEach(function (l) { l.classList.remove("drop-target"); });
  }

  document.addEventListener("dragstart", function (event) {
    var block = event.target instanceof Element ? event.target.closest(".appt[draggable='true']") : null;
    if (!block) {
      return;
    }
    drag = { url: block.getAttribute("data-move-url"), grabY: event.clientY - block.getBoundingClientRect().top };
    block.classList.add("is-dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", block.getAttribute("data-exam"));
  });

  document.addEventListener("dragend", function (event) {
    if (event.target instanceof Element) {
      event.target.classList.remove("is-dragging");
    }
    clearMarkers();
  });

  document.addEventListener("dragover", function (event) {
    var lane = event.target instanceof Element ? event.target.closest(".board-lane[data-drop]") : null;
    if (!lane || !drag) {
      return;
    }
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    document.querySelectorAll(".drop-target").forEach(function (l) {
      if (l !== lane) { l.classList.remove("drop-target"); l.querySelectorAll(".drop-marker").forEach(function (m) { m.remove(); }); }
    });
    lane.classList.add("drop-target");
    marker(lane, laneMinute(lane, event.clientY));
  });

  document.addEventListener("drop", function (event) {
    var lane = event.target instanceof Element ? event.target.closest(".board-lane[data-drop]") : null;
    if (!lane || !drag) {
      return;
    }
    event.preventDefault();
    var minute = laneMinute(lane, event.clientY);
    var url = drag.url;
    drag = null;
    clearMarkers();
    var form = new FormData();
    form.append("room", lane.getAttribute("data-room"));
    if (lane.getAttribute("data-mode") === "wall") {
      form.append("date", lane.getAttribute("data-day"));
      form.append("time", pad(Math.floor(minute / 60)) + ":" + pad(minute % 60));
    } else {
      form.append("date", lane.closest(".board").getAttribute("data-day"));
      form.append("minute", String(minute));
    }
    fetch(url, {
      method: "POST",
      body: form,
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(), "HX-Request": "true" },
    }).then(function (response) {
      if (response.status === 204) {
        var detail = {};
        try {
          detail = JSON.parse(response.headers.get("HX-Trigger") || "{}")["board-changed"] || {};
        } catch (error) {
          detail = {};
        }
        changed(detail.message || "Booking moved.");
        return null;
      }
      return response.text().then(function (html) {
        openDialog(html);
        announce("The booking was not moved.");
      });
    });
  });

  // --- the dialog ------------------------------------------------------------------------------
  document.addEventListener("click", function (event) {
    var close = event.target instanceof Element ? event.target.closest("[data-close-dialog]") : null;
    if (close) {
      var box = close.closest("dialog");
      if (box) {
        box.close();
      }
    }
  });

  document.addEventListener("htmx:beforeSwap", function (event) {
    // A refused move comes back as 403/409/422 with the form and the service's message: show it.
    var target = event.detail.target;
    var status = event.detail.xhr.status;
    if (target && target.id === "move-dialog-body" && [403, 409, 422].indexOf(status) >= 0) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    if (target && target.id === "move-dialog-body") {
      openDialog();
      return;
    }
    position(document);
  });

  document.body.addEventListener("board-changed", function (event) {
    var box = dialog();
    if (box && box.open) {
      box.close();
    }
    if (event.detail && event.detail.message) {
      announce(event.detail.message);
    }
    var body = document.getElementById("board-body");
    if (!body || !body.hasAttribute("hx-get")) {
      window.location.reload(); // the week view does not poll: load it again
    }
  });

  position(document);
  window.setInterval(function () {
    var board = document.querySelector(".board[data-start]");
    if (board) {
      nowLine(board);
    }
  }, 60000);
})();
