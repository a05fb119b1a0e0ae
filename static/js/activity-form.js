/*
 * The activity form, enhanced (it works without this file):
 * - the sign-up details (window, capacity, attendees) show only while "enterprises may sign up"
 *   is ticked, and always when one of them has a message;
 * - the long list of co-organising departments gains a filter box and a count of those chosen.
 */
(function () {
  "use strict";

  Array.prototype.forEach.call(document.querySelectorAll("[data-shown-by]"), function (group) {
    var toggle = document.getElementById(group.getAttribute("data-shown-by"));
    if (!toggle) {
      return;
    }
    function update() {
      group.hidden = !toggle.checked && !group.querySelector(".has-errors");
    }
    toggle.setAttribute("aria-controls", group.id || "");
    toggle.addEventListener("change", update);
    update();
  });

  Array.prototype.forEach.call(document.querySelectorAll("[data-department-filter]"), function (box) {
    var list = box.querySelector(".department-choice");
    if (!list) {
      return;
    }
    var options = Array.prototype.slice.call(list.querySelectorAll("input[type='checkbox']"));
    var wrapper = document.createElement("div");
    wrapper.className = "department-filter-box";
    var input = document.createElement("input");
    input.type = "search";
    input.placeholder = box.getAttribute("data-placeholder") || "";
    input.setAttribute("aria-label", box.getAttribute("data-label") || "");
    input.setAttribute("aria-controls", list.id || "");
    var count = document.createElement("span");
    count.className = "chosen-count";
    count.setAttribute("aria-live", "polite");
    wrapper.appendChild(input);
    wrapper.appendChild(count);
    list.parentNode.insertBefore(wrapper, list);

    function showCount() {
      var chosen = options.filter(function (option) { return option.checked; }).length;
      count.textContent = chosen ? chosen + " " + (box.getAttribute("data-chosen") || "") : "";
    }

    function filter() {
      var words = input.value.trim().toLowerCase();
      options.forEach(function (option) {
        var row = option.closest("div");
        var text = (option.parentNode.textContent || "").toLowerCase();
        row.hidden = Boolean(words) && !option.checked && text.indexOf(words) === -1;
      });
      // A group's heading goes when none of its departments is left.
      Array.prototype.forEach.call(list.children, function (group) {
        var rows = group.querySelectorAll("input[type='checkbox']");
        if (group.querySelector(":scope > label") && rows.length) {
          var visible = Array.prototype.some.call(rows, function (option) {
            return !option.closest("div").hidden;
          });
          group.hidden = !visible;
        }
      });
    }

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
