/*
 * Progress of an activity import (templates/activities/import/detail.html).
 * Progressive enhancement: without JavaScript the page reloads itself (a <noscript> refresh).
 *
 * Polls the import's status (JSON: status, processed, total, errors, finished), moves the
 * <progress> bar and its text, and reloads the page once the import has finished, to show the
 * outcome and the errors. Texts come translated from the page's data-text-* attributes.
 */
(function () {
  "use strict";

  var box = document.querySelector("[data-import-status-url]");
  if (!box || !window.fetch || !window.JSON) {
    return;
  }
  var url = box.getAttribute("data-import-status-url");
  var bar = box.querySelector("progress");
  var text = box.querySelector("[data-import-text]");
  var badge = box.querySelector("[data-import-badge]");
  var delay = 1000;

  function fill(template, values) {
    return (template || "").replace(/%\((\w+)\)s/g, function (match, name) {
      var value = values[name];
      return value === undefined || value === null ? "" : Number(value).toLocaleString();
    });
  }

  function show(state) {
    if (badge) {
      badge.textContent = state.status_display;
      badge.className = "badge import-status-" + state.status;
    }
    if (bar) {
      if (state.total > 0) {
        bar.max = state.total;
        bar.value = state.processed;
      } else {
        bar.removeAttribute("value"); // indeterminate while the file is read
      }
    }
    var key;
    if (state.status === "queued") {
      key = "data-text-queued";
    } else if (!state.total) {
      key = "data-text-reading";
    } else if (state.processed < state.total) {
      key = "data-text-checking";
    } else {
      key = "data-text-saving";
    }
    if (text) {
      text.textContent = fill(box.getAttribute(key), state);
    }
  }

  function poll() {
    fetch(url, { credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) {
          throw new Error(String(response.status));
        }
        return response.json();
      })
      .then(function (state) {
        show(state);
        if (state.finished) {
          window.location.reload();
          return;
        }
        delay = Math.min(delay * 1.25, 4000);
        window.setTimeout(poll, delay);
      })
      .catch(function () {
        // A network hiccup or a restarted server: keep trying, less often.
        delay = Math.min(delay * 2, 15000);
        window.setTimeout(poll, delay);
      });
  }

  window.setTimeout(poll, delay);
})();
