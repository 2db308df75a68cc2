// The day board's behaviour: draw the plotly figures embedded as JSON, switch tabs, keep
// forms from being posted twice. Everything works without this file except the charts (the
// Table tab shows the same data); nothing here loads anything from the network.
(function () {
  "use strict";

  function figureOf(el) {
    var source = document.getElementById(el.getAttribute("data-figure"));
    return source ? JSON.parse(source.textContent) : null;
  }

  function draw(el) {
    if (el.getAttribute("data-drawn") === "true" || typeof Plotly === "undefined") return;
    var fig = figureOf(el);
    if (!fig) return;
    // A fixed container height keeps plotly's autosize from squashing the chart.
    if (fig.layout && fig.layout.height) el.style.height = fig.layout.height + "px";
    Plotly.newPlot(el, fig.data, fig.layout, fig.config || {}).then(function () {
      el.setAttribute("data-drawn", "true");
      document.dispatchEvent(new CustomEvent("board:drawn", { detail: el.id }));
    });
  }

  function visible(el) {
    return !el.closest("[hidden]");
  }

  function drawVisible() {
    document.querySelectorAll("[data-figure]").forEach(function (el) {
      if (visible(el)) draw(el);
    });
  }

  function selectTab(tab) {
    var list = tab.closest("[role=tablist]");
    list.querySelectorAll("[role=tab]").forEach(function (other) {
      var selected = other === tab;
      other.setAttribute("aria-selected", selected ? "true" : "false");
      other.tabIndex = selected ? 0 : -1;
      var panel = document.getElementById(other.getAttribute("aria-controls"));
      if (panel) panel.hidden = !selected;
    });
    var panel = document.getElementById(tab.getAttribute("aria-controls"));
    if (panel) {
      panel.querySelectorAll("[data-figure]").forEach(function (el) {
        if (el.getAttribute("data-drawn") === "true") Plotly.Plots.resize(el);
        else draw(el);
      });
    }
    try { sessionStorage.setItem("board-tab", tab.id); } catch (e) { /* private mode */ }
  }

  function setUpTabs() {
    document.querySelectorAll("[role=tablist]").forEach(function (list) {
      var tabs = Array.prototype.slice.call(list.querySelectorAll("[role=tab]"));
      tabs.forEach(function (tab, i) {
        tab.addEventListener("click", function () { selectTab(tab); });
        tab.addEventListener("keydown", function (ev) {
          var step = ev.key === "ArrowRight" ? 1 : ev.key === "ArrowLeft" ? -1 : 0;
          if (!step) return;
          var next = tabs[(i + step + tabs.length) % tabs.length];
          next.focus();
          selectTab(next);
        });
      });
      var remembered = null;
      try { remembered = sessionStorage.getItem("board-tab"); } catch (e) { /* ignore */ }
      var start = remembered && document.getElementById(remembered);
      if (start && list.contains(start)) selectTab(start);
    });
  }

  function kilobytes(bytes) {
    return Math.ceil(bytes / 1024) + " KB";
  }

  // An upload larger than the service accepts is refused before it is sent (the service
  // would answer 413 without reading it), with the sizes in the form itself.
  function setUpUploads() {
    document.querySelectorAll("form[data-max-bytes]").forEach(function (form) {
      var limit = Number(form.getAttribute("data-max-bytes"));
      var message = form.querySelector("[data-size-error]");
      form.addEventListener("submit", function (ev) {
        var total = 0;
        var names = [];
        form.querySelectorAll("input[type=file]").forEach(function (input) {
          Array.prototype.forEach.call(input.files || [], function (file) {
            total += file.size;
            names.push(file.name);
          });
        });
        if (!limit || total + 2048 <= limit) {
          if (message) message.hidden = true;
          return;
        }
        ev.preventDefault();
        ev.stopImmediatePropagation();
        if (message) {
          message.textContent = "Too large to load: " + names.join(" and ") + " come" +
            (names.length === 1 ? "s" : "") + " to " + kilobytes(total) +
            "; the service accepts at most " + kilobytes(limit) + " in one upload " +
            "(an administrator can raise WORKSHOP_MAX_BODY_BYTES). Nothing was sent.";
          message.hidden = false;
        }
      });
    });
  }

  function setUpForms() {
    setUpUploads();
    document.querySelectorAll("form[data-busy]").forEach(function (form) {
      form.addEventListener("submit", function (ev) {
        if (form.getAttribute("data-sent") === "true") { ev.preventDefault(); return; }
        form.setAttribute("data-sent", "true");
        var button = form.querySelector("button[type=submit]");
        if (button) {
          button.setAttribute("aria-busy", "true");
          button.textContent = form.getAttribute("data-busy");
        }
      });
    });
    document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      select.addEventListener("change", function () { select.form.submit(); });
    });
    document.querySelectorAll("[data-action=print]").forEach(function (button) {
      button.addEventListener("click", function () { window.print(); });
    });
  }

  function resizeVisible() {
    document.querySelectorAll("[data-figure][data-drawn=true]").forEach(function (el) {
      if (visible(el)) Plotly.Plots.resize(el);
    });
  }

  function start() {
    setUpTabs();
    setUpForms();
    drawVisible();
    var pending = null;
    window.addEventListener("resize", function () {
      clearTimeout(pending);
      pending = setTimeout(resizeVisible, 120);
    });
    window.addEventListener("beforeprint", resizeVisible);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
