/*
 * The region picker of the activity form: province → city → county, as three selects.
 *
 * Without this file the selects work with a button ("Update the lists") that redraws the form
 * with the cities of the chosen province and the counties of the chosen city. With it, choosing
 * a province or a city loads the places below it from /api/v1/regions/?parent=<code> and the
 * button is hidden (CSS: .region-picker[data-enhanced]).
 *
 * Markup: <fieldset data-region-picker data-api="/api/v1/regions/"> holding three selects with
 * data-region-level="province|city|county"; each select's first option is "the whole …".
 */
(function () {
  "use strict";

  function clear(select) {
    while (select.options.length > 1) {
      select.remove(1);
    }
    select.value = "";
  }

  function fill(select, regions) {
    regions.forEach(function (region) {
      var option = document.createElement("option");
      option.value = region.code;
      option.textContent = region.name;
      select.appendChild(option);
    });
    select.disabled = regions.length === 0;
  }

  function enhance(picker) {
    var api = picker.getAttribute("data-api");
    var selects = {};
    ["province", "city", "county"].forEach(function (level) {
      selects[level] = picker.querySelector("select[data-region-level='" + level + "']");
    });
    if (!api || !selects.province || !selects.city || !selects.county || !window.fetch) {
      return;
    }
    var pending = {};

    function load(parentCode, target) {
      clear(target);
      target.disabled = true;
      if (!parentCode) {
        return;
      }
      if (pending[target.name]) {
        pending[target.name].abort();
      }
      var controller = window.AbortController ? new AbortController() : null;
      pending[target.name] = controller;
      picker.setAttribute("aria-busy", "true");
      var url = api + "?parent=" + encodeURIComponent(parentCode) + "&page_size=200";
      fetch(url, {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
        signal: controller ? controller.signal : undefined
      })
        .then(function (response) {
          if (!response.ok) {
            throw new Error("HTTP " + response.status);
          }
          return response.json();
        })
        .then(function (body) {
          fill(target, body.results || []);
        })
        .catch(function (error) {
          if (error && error.name === "AbortError") {
            return;
          }
          // Fall back to the button that redraws the form on the server.
          picker.removeAttribute("data-enhanced");
          target.disabled = false;
        })
        .then(function () {
          picker.removeAttribute("aria-busy");
        });
    }

    selects.province.addEventListener("change", function () {
      clear(selects.county);
      selects.county.disabled = true;
      load(selects.province.value, selects.city);
    });
    selects.city.addEventListener("change", function () {
      load(selects.city.value, selects.county);
    });
    // Places below nothing chosen cannot be chosen.
    selects.city.disabled = !selects.province.value || selects.city.options.length < 2;
    selects.county.disabled = !selects.city.value || selects.county.options.length < 2;
    picker.setAttribute("data-enhanced", "");
  }

  Array.prototype.forEach.call(document.querySelectorAll("[data-region-picker]"), enhance);
})();
