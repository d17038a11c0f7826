/* KPI dashboards: draw the charts whose data the page embeds (json_script "kpi-charts").
   A point or bar with exams behind it carries their drill-down URL in customdata; clicking it
   opens that list. No inline scripts: the Content-Security-Policy allows only this origin. */
(function () {
  "use strict";

  var COLOURS = { green: "#1a7f37", amber: "#b07800", red: "#b3261e", none: "#0b4f8a" };
  var LINE = "#0b4f8a";
  var TARGET = "#4b5563";
  var REFERENCE = "#7c3aed";

  function unitText(unit) {
    if (unit === "%") { return " %"; }
    if (!unit || unit === "exams" || unit === "count") { return ""; }
    return " " + unit;
  }

  function levelTrace(axisValues, level, name, colour, dash) {
    // A flat line across a trend chart at ``level``: the target, or a reference (CADTH's).
    return {
      type: "scatter",
      mode: axisValues.length > 1 ? "lines" : "lines+markers",
      name: name,
      x: axisValues,
      y: axisValues.map(function () { return level; }),
      line: { color: colour, dash: dash, width: 2 },
      marker: { color: colour, symbol: "line-ew-open", size: 14 },
      hoverinfo: "name",
    };
  }

  function trendTraces(chart) {
    var colours = chart.status.map(function (s) { return COLOURS[s] || COLOURS.none; });
    var traces = [{
      type: "scatter",
      mode: "lines+markers",
      name: chart.title,
      x: chart.x,
      y: chart.y,
      text: chart.text,
      customdata: chart.urls,
      hovertext: chart.labels,
      hovertemplate: "%{hovertext}<br>%{text}<extra></extra>",
      line: { color: LINE, width: 2 },
      marker: { color: colours, size: 9, line: { color: "#ffffff", width: 1 } },
      connectgaps: false,
    }];
    if (chart.target !== null && chart.target !== undefined) {
      traces.push(levelTrace(chart.x, chart.target, "Target " + chart.target + unitText(chart.unit),
        TARGET, "dash"));
    }
    if (chart.reference !== null && chart.reference !== undefined) {
      traces.push(levelTrace(chart.x, chart.reference, chart.referenceLabel || "Reference",
        REFERENCE, "dot"));
    }
    return traces;
  }

  function barTraces(chart) {
    // Horizontal bars, largest first at the top (Plotly draws the first category at the bottom).
    return [{
      type: "bar",
      orientation: "h",
      name: chart.title,
      y: chart.x.slice().reverse(),
      x: chart.y.slice().reverse(),
      text: chart.text.slice().reverse(),
      textposition: "auto",
      customdata: chart.urls.slice().reverse(),
      hovertemplate: "%{y}: %{text}<extra></extra>",
      marker: { color: LINE },
      showlegend: false,
    }];
  }

  function levelShape(level, name, colour, dash) {
    // A line across a bar chart at ``level`` (the target, CADTH's reference), in the legend.
    return {
      type: "line", xref: "x", yref: "paper", x0: level, x1: level, y0: 0, y1: 1,
      line: { color: colour, dash: dash, width: 2 }, showlegend: true, name: name,
    };
  }

  function layoutFor(chart) {
    var layout = {
      margin: { l: 56, r: 16, t: 8, b: 40 },
      height: 280,
      showlegend: true,
      legend: { orientation: "h", y: -0.2 },
      hovermode: "closest",
      paper_bgcolor: "rgba(0,0,0,0)",
      plot_bgcolor: "rgba(0,0,0,0)",
      font: { family: "system-ui, -apple-system, 'Segoe UI', sans-serif", size: 12 },
      yaxis: { rangemode: "tozero", automargin: true, ticksuffix: chart.unit === "%" ? " %" : "" },
      xaxis: { automargin: true },
    };
    if (chart.kind === "bar") {
      layout.height = Math.max(220, 60 + 26 * chart.x.length);
      layout.xaxis = { rangemode: "tozero", automargin: true };
      layout.yaxis = { automargin: true, type: "category" };
      layout.margin.l = 8;
      layout.shapes = [];
      if (chart.target !== null && chart.target !== undefined) {
        layout.shapes.push(levelShape(chart.target, "Target " + chart.target + unitText(chart.unit),
          TARGET, "dash"));
      }
      if (chart.reference !== null && chart.reference !== undefined) {
        layout.shapes.push(levelShape(chart.reference, chart.referenceLabel || "Reference",
          REFERENCE, "dot"));
      }
      layout.showlegend = layout.shapes.length > 0;
    } else if (chart.grain === "month") {
      layout.xaxis.tickformat = "%b %Y";
      layout.xaxis.dtick = "M1";
    }
    return layout;
  }

  function draw(chart, element) {
    if (chart.note || !chart.x.length) {
      element.textContent = chart.note || "No data for this period.";
      element.classList.add("kpi-chart-empty");
      return Promise.resolve();
    }
    var traces = chart.kind === "bar" ? barTraces(chart) : trendTraces(chart);
    var config = { displayModeBar: false, responsive: true, displaylogo: false };
    return window.Plotly.newPlot(element, traces, layoutFor(chart), config).then(function () {
      element.on("plotly_click", function (event) {
        var point = event && event.points && event.points[0];
        if (point && typeof point.customdata === "string" && point.customdata) {
          window.location.assign(point.customdata);
        }
      });
    });
  }

  var source = document.getElementById("kpi-charts");
  if (!source || !window.Plotly) {
    return;
  }
  var data = JSON.parse(source.textContent);
  var drawn = data.charts.map(function (chart) {
    var element = document.getElementById("chart-" + chart.id);
    if (!element) { return Promise.resolve(); }
    chart.grain = data.grain;
    return draw(chart, element);
  });
  Promise.all(drawn).then(function () {
    // Browser tests wait for this before reading or clicking a chart.
    document.documentElement.setAttribute("data-charts-ready", "true");
  });
})();
