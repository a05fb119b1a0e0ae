/*
 * The feedback report form, enhanced (it works without this file): the long list of activities
 * the report covers gains a filter box, "tick all shown" / "untick all" buttons and a count of
 * those chosen.
 *
 * Markup: <div data-activity-picker data-label data-placeholder data-all data-none data-chosen>
 * around a checkbox list with the class "activity-choice".
 */
(function () {
  "use strict";

  Array.prototype.forEach.call(document.querySelectorAll("[data-activity-picker]"), function (box) {
    var list = box.querySelector(".activity-choice");
    if (!list) {
      return;
    }
    var options = Array.prototype.slice.call(list.querySelectorAll("input[type='checkbox']"));
    var tools = document.createElement("div");
    tools.className = "activity-picker-tools";

    var input = document.createElement("input");
    input.type = "search";
    input.placeholder = box.getAttribute("data-placeholder") || "";
    input.setAttribute("aria-label", box.getAttribute("data-label") || "");
    if (list.id) {
      input.setAttribute("aria-controls", list.id);
    }

    function button(text, handler) {
      var b = document.createElement("button");
      b.type = "button";
      b.className = "button";
      b.textContent = text;
      b.addEventListener("click", handler);
      return b;
    }

    var count = document.createElement("span");
    count.className = "chosen-count";
    count.setAttribute("aria-live", "polite");

    function visible() {
      return options.filter(function (option) {
        return !option.closest("div").hidden;
      });
    }

    function showCount() {
      var chosen = options.filter(function (option) { return option.checked; }).length;
      count.textContent = chosen + " / " + options.length + " " + (box.getAttribute("data-chosen") || "");
    }

    function filter() {
      var words = input.value.trim().toLowerCase();
      options.forEach(function (option) {
        var text = (option.parentNode.textContent || "").toLowerCase();
        option.closest("div").hidden = Boolean(words) && text.indexOf(words) === -1;
      });
    }

    tools.appendChild(input);
    tools.appendChild(button(box.getAttribute("data-all") || "All", function () {
      visible().forEach(function (option) { option.checked = true; });
      showCount();
    }));
    tools.appendChild(button(box.getAttribute("data-none") || "None", function () {
      options.forEach(function (option) { option.checked = false; });
      showCount();
    }));
    tools.appendChild(count);
    list.parentNode.insertBefore(tools, list);

    input.addEventListener("input", filter);
    input.addEventListener("keydown", function (event) {
      if (event.key === "Enter") {
        event.preventDefault(); // filtering, not submitting
      }
    });
    list.addEventListener("change", showCount);
    showCount();
  });
})();
