// report.html's script (tuner/src/report/report.js, inlined at build time):
// reads the data that report.cpp embeds (see docs/tuner/report.md) and draws
// it, with Chart.js for the plots and a small canvas routine for the
// parallel coordinates, which Chart.js does not have.
"use strict";
(function () {
  const data = JSON.parse(document.getElementById("report-data").textContent);
  const bestId = data.best ? data.best.trial_id : null;
  const minimize = data.direction === "minimize";
  Chart.defaults.animation = false;
  Chart.defaults.maintainAspectRatio = false;

  // ---- formatting and colours

  function format(value) {
    if (value === null || value === undefined) return "—";
    if (typeof value === "number") {
      if (Number.isInteger(value)) return String(value);
      const size = Math.abs(value);
      const rounded = +value.toPrecision(4);
      return size >= 1e5 || size < 1e-3 ? rounded.toExponential() : String(rounded);
    }
    return typeof value === "string" ? value : JSON.stringify(value);
  }

  // "optimizer.lr = 0.01, model.hidden = [256,256]"
  function configText(config) {
    return Object.entries(config || {}).map(([key, value]) => `${key} = ${format(value)}`).join(", ");
  }

  function duration(seconds) {
    if (seconds < 120) return seconds.toFixed(1) + " s";
    if (seconds < 7200) return (seconds / 60).toFixed(1) + " min";
    return (seconds / 3600).toFixed(2) + " h";
  }

  // Viridis from 0 (dark: the best value) to 1 (yellow: the worst).
  const VIRIDIS = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
  function colour(t, alpha) {
    const x = Math.min(Math.max(t, 0), 1) * (VIRIDIS.length - 1);
    const i = Math.min(Math.floor(x), VIRIDIS.length - 2);
    const mix = VIRIDIS[i].map((c, k) => Math.round(c + (x - i) * (VIRIDIS[i + 1][k] - c)));
    return `rgba(${mix[0]}, ${mix[1]}, ${mix[2]}, ${alpha})`;
  }

  // Where a value lies between the best (0) and the worst (1) completed value.
  const values = data.trials.filter(t => t.value !== null).map(t => t.value);
  const low = Math.min(...values), high = Math.max(...values);
  function rank(value) {
    if (!(high > low)) return 0;
    return minimize ? (value - low) / (high - low) : (high - value) / (high - low);
  }

  // A log axis where positive values span more than `decades` decades.
  function axisType(numbers, decades) {
    const positive = numbers.length > 0 && numbers.every(v => v > 0);
    return positive && Math.max(...numbers) / Math.min(...numbers) > Math.pow(10, decades) ? "logarithmic" : "linear";
  }

  // ---- header

  function header() {
    const c = data.counts;
    document.getElementById("title").textContent = data.title;
    document.getElementById("subtitle").textContent =
      `Objective: ${data.objective}, ${minimize ? "minimized (lower is better)" : "maximized (higher is better)"}`;
    const rows = [
      ["Trials", `${c.completed + c.pruned} completed (${c.pruned} of them pruned), ` +
                 `${c.failed + c.timed_out} failed (${c.timed_out} timed out), ${c.running + c.pending} running`],
      ["Best value", data.best ? `${format(data.best.value)} (trial ${data.best.trial_id}, ` +
                     `configuration ${data.best.config_id}, budget ${format(data.best.budget)})` : "none yet"],
      ["Best configuration", data.best ? configText(data.best.config) : "—"],
      ["Wall time", duration(data.wall_seconds)],
    ];
    const list = document.getElementById("summary");
    for (const [term, text] of rows) {
      list.appendChild(document.createElement("dt")).textContent = term;
      list.appendChild(document.createElement("dd")).textContent = text;
    }
  }

  // ---- charts

  function axis(type, title) {
    // Chart.js's own labels suit log axes; on linear ones it writes 2.000000E-6.
    const ticks = type === "linear" ? {callback: value => format(value)} : {};
    return {type, title: {display: true, text: title}, ticks};
  }

  function options(xTitle, xType, yTitle, yType) {
    return {
      scales: {x: axis(xType, xTitle), y: axis(yType, yTitle)},
      plugins: {tooltip: {callbacks: {label: item => item.raw.label || format(item.raw.y)}}},
    };
  }

  // The best value so far against `key` of data.progress ("seconds" or "spent").
  function bestSoFar(canvasId, key, xTitle, xEnd) {
    const known = data.progress.filter(p => p.best !== null);
    const steps = known.map(p => ({x: p[key], y: p.best, label: `best ${format(p.best)} after trial ${p.trial_id}`}));
    if (steps.length > 0) steps.push({x: Math.max(xEnd, steps[steps.length - 1].x), y: steps[steps.length - 1].y});
    const dots = data.progress.filter(p => p.value !== null)
      .map(p => ({x: p[key], y: p.value, label: `trial ${p.trial_id}: ${format(p.value)}`}));
    new Chart(document.getElementById(canvasId), {
      type: "scatter",
      data: {datasets: [
        {label: "best so far", data: steps, showLine: true, stepped: true, borderColor: "#d62728",
         backgroundColor: "#d62728", borderWidth: 2, pointRadius: 0, pointHitRadius: 4},
        {label: "trials", data: dots, pointRadius: 2.5, backgroundColor: "rgba(31, 119, 180, 0.45)"},
      ]},
      options: options(xTitle, "linear", data.objective, axisType(dots.map(d => d.y), 2)),
    });
  }

  // Every trial's value against its budget; failed trials as red crosses at the worst value.
  function valueAgainstBudget() {
    const point = t => ({x: t.budget, y: t.value, label: `trial ${t.id} (${t.state}): ${format(t.value)}`});
    const worst = values.length ? (minimize ? high : low) : 0;
    const failed = data.trials.filter(t => t.state === "failed" || t.state === "timed_out")
      .map(t => ({x: t.budget, y: worst, label: `trial ${t.id} ${t.state}: ${t.error}`}));
    const datasets = [
      {label: "completed", data: data.trials.filter(t => t.state === "completed").map(point),
       backgroundColor: "rgba(31, 119, 180, 0.6)"},
      {label: "pruned (not continued)", data: data.trials.filter(t => t.state === "pruned").map(point),
       backgroundColor: "rgba(127, 127, 127, 0.6)"},
      {label: "failed (drawn at the worst value)", data: failed, pointStyle: "crossRot", pointRadius: 6,
       borderColor: "#d62728", borderWidth: 2},
    ];
    const budgets = data.trials.map(t => t.budget);
    new Chart(document.getElementById("value-budget"), {
      type: "scatter", data: {datasets},
      options: options("budget", axisType(budgets, 1), data.objective, axisType(values, 2)),
    });
  }

  // One line per trial that has a curve; the best trial thick and red.
  function learningCurves() {
    const withCurves = data.trials.filter(t => t.curve.length > 0);
    const many = withCurves.length > 10;
    const datasets = withCurves.map(t => {
      const best = t.id === bestId;
      return {
        label: `trial ${t.id}` + (best ? " (best)" : ""),
        data: t.curve.map(([x, y]) => ({x, y, label: `trial ${t.id}, epoch ${format(x)}: ${format(y)}`})),
        showLine: true, order: best ? 0 : 1,
        borderColor: best ? "#d62728" : colour(t.value === null ? 1 : rank(t.value), many ? 0.5 : 0.9),
        backgroundColor: best ? "#d62728" : colour(t.value === null ? 1 : rank(t.value), 0.9),
        borderWidth: best ? 3 : 1.2, pointRadius: many && !best ? 0 : 2, pointHitRadius: 4,
      };
    });
    const ys = withCurves.flatMap(t => t.curve.map(p => p[1]));
    const chartOptions = options("epoch", "linear", data.curve_metric, axisType(ys, 2));
    chartOptions.plugins.legend = {display: !many};
    new Chart(document.getElementById("curves"), {type: "scatter", data: {datasets}, options: chartOptions});
    const shown = withCurves.length, total = data.curves_total;
    let note = `${data.curve_metric} after each epoch, one line per trial`;
    if (data.curve_metric !== data.objective) note += ` (the metrics records have no "${data.objective}")`;
    if (shown < total) note += `; the best ${shown} of ${total} trials`;
    if (bestId !== null) note += `; the best trial (${bestId}) in red`;
    document.getElementById("curves-note").textContent =
      shown === 0 ? "No trial has a learning curve yet." : note + ".";
  }

  // ---- parallel coordinates: one vertical axis per parameter and one for the
  // objective, every position already scaled to [0, 1] by the report.

  function parallelCoordinates() {
    const canvas = document.getElementById("parallel");
    const {axes, lines} = data.parallel;
    const width = canvas.parentElement.clientWidth, height = canvas.parentElement.clientHeight;
    const scale = window.devicePixelRatio || 1;
    canvas.width = width * scale;
    canvas.height = height * scale;
    canvas.style.width = width + "px";
    canvas.style.height = height + "px";
    const ctx = canvas.getContext("2d");
    ctx.scale(scale, scale);
    const left = 60, right = 110, top = 50, bottom = 15;
    const xOf = i => axes.length < 2 ? width / 2 : left + i * (width - left - right) / (axes.length - 1);
    const yOf = at => top + (1 - at) * (height - top - bottom);

    // Worst first, best last, so the good lines lie on top.
    const isBest = line => line.trial_id === bestId ? 1 : 0;
    const ordered = lines.slice().sort((a, b) => isBest(a) - isBest(b) || rank(b.value) - rank(a.value));
    for (const line of ordered) {
      const best = line.trial_id === bestId;
      ctx.strokeStyle = best ? "#d62728" : colour(rank(line.value), 0.7);
      ctx.lineWidth = best ? 3 : 1.2;
      ctx.beginPath();
      let drawing = false;  // a null position (a value outside the space) breaks the line
      line.at.forEach((at, i) => {
        if (at === null) { drawing = false; return; }
        if (drawing) ctx.lineTo(xOf(i), yOf(at)); else ctx.moveTo(xOf(i), yOf(at));
        drawing = true;
      });
      ctx.stroke();
    }

    ctx.font = "12px system-ui, sans-serif";
    const spacing = axes.length < 2 ? width : (width - left - right) / (axes.length - 1);
    axes.forEach((axis, i) => {
      const x = xOf(i);
      ctx.strokeStyle = "#444";
      ctx.lineWidth = 1;
      ctx.beginPath();
      ctx.moveTo(x, yOf(0));
      ctx.lineTo(x, yOf(1));
      ctx.stroke();
      ctx.fillStyle = "#222";
      ctx.textAlign = "center";
      // Stagger the names when they would run into each other.
      const stagger = ctx.measureText(axis.label).width > spacing && i % 2 === 1;
      ctx.fillText(axis.label, x, top - (stagger ? 28 : 12));
      ctx.textAlign = "left";
      for (const tick of axis.ticks) {
        if (tick.at === null) continue;
        const y = yOf(tick.at), text = format(tick.value);
        ctx.beginPath();
        ctx.moveTo(x - 4, y);
        ctx.lineTo(x + 4, y);
        ctx.stroke();
        ctx.lineWidth = 3;
        ctx.strokeStyle = "rgba(255, 255, 255, 0.85)";
        ctx.strokeText(text, x + 6, y + 4);
        ctx.fillText(text, x + 6, y + 4);
        ctx.lineWidth = 1;
        ctx.strokeStyle = "#444";
      }
    });
  }

  // ---- the table of trials

  function trialTable() {
    const table = document.getElementById("trials");
    const columns = [
      ["trial", t => t.id, "number"], ["config", t => t.config_id, "number"],
      ["budget", t => format(t.budget), "number"],
      ["state", t => t.state, "state"], ["value", t => format(t.value), "number"],
      ["seconds", t => t.seconds === null ? "—" : t.seconds.toFixed(1), "number"],
      ["configuration", t => configText(t.config), "config"],
      ["error", t => t.error, "error"],
    ];
    const head = table.createTHead().insertRow();
    for (const [name] of columns) head.appendChild(document.createElement("th")).textContent = name;
    const body = table.createTBody();
    for (const trial of data.trials) {
      const row = body.insertRow();
      row.className = trial.state + (trial.id === bestId ? " best" : "");
      for (const [, text, kind] of columns) {
        const cell = row.insertCell();
        cell.className = kind;
        cell.textContent = text(trial);  // text, never markup: error texts stay inert
      }
    }
  }

  header();
  bestSoFar("best-time", "seconds", "seconds since the sweep started", data.wall_seconds);
  const spent = data.progress.length ? data.progress[data.progress.length - 1].spent : 0;
  bestSoFar("best-budget", "spent", "budget spent (sum of finished trials' budgets)", spent);
  valueAgainstBudget();
  learningCurves();
  parallelCoordinates();
  window.addEventListener("resize", parallelCoordinates);
  trialTable();
})();
