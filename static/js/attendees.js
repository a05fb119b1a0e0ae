/*
 * The attendee rows of the sign-up form, one at a time: progressive enhancement only.
 * Without this file every row (as many as the activity allows) is shown and empty rows are
 * ignored. With it, rows after the first empty one are hidden until "Add another attendee",
 * and a row can be removed (emptied and hidden). Button labels come from the fieldset's
 * data-add-label / data-remove-label, so they are translated with the page.
 */
(function () {
  "use strict";

  var fieldset = document.querySelector("[data-attendees]");
  if (!fieldset) {
    return;
  }
  var rows = Array.prototype.slice.call(fieldset.querySelectorAll("[data-attendee-row]"));
  if (rows.length < 2) {
    return;
  }

  function inputs(row) {
    return Array.prototype.slice.call(row.querySelectorAll("input"));
  }

  function isEmpty(row) {
    return inputs(row).every(function (input) {
      return !input.value.trim();
    }) && !row.querySelector(".errors");
  }

  var tools = document.createElement("div");
  tools.className = "attendee-tools";
  var add = document.createElement("button");
  add.type = "button";
  add.className = "button secondary";
  add.textContent = fieldset.getAttribute("data-add-label") || "+";
  tools.appendChild(add);
  fieldset.appendChild(tools);

  function refresh() {
    var hidden = rows.filter(function (row) { return row.hidden; });
    add.hidden = hidden.length === 0;
  }

  rows.forEach(function (row, index) {
    if (index === 0) {
      return;
    }
    var remove = document.createElement("button");
    remove.type = "button";
    remove.className = "link-button attendee-remove";
    remove.textContent = fieldset.getAttribute("data-remove-label") || "×";
    remove.addEventListener("click", function () {
      // Move the rows below up by one, and hide the last visible one: the numbers stay in order.
      var visible = rows.filter(function (r) { return !r.hidden; });
      var from = visible.indexOf(row);
      for (var i = from; i < visible.length - 1; i += 1) {
        var target = inputs(visible[i]);
        var source = inputs(visible[i + 1]);
        target.forEach(function (input, k) { input.value = source[k] ? source[k].value : ""; });
      }
      var last = visible[visible.length - 1];
      inputs(last).forEach(function (input) { input.value = ""; });
      if (visible.length > 1) {
        last.hidden = true;
      }
      refresh();
      add.focus();
    });
    (row.querySelector(".attendee-fields") || row).appendChild(remove);
  });

  // Show the filled rows and the first empty one; hide the other empty ones.
  var shownEmpty = false;
  rows.forEach(function (row) {
    if (isEmpty(row)) {
      row.hidden = shownEmpty;
      shownEmpty = true;
    }
  });

  add.addEventListener("click", function () {
    var next = rows.filter(function (row) { return row.hidden; })[0];
    if (next) {
      next.hidden = false;
      var first = next.querySelector("input");
      if (first) {
        first.focus();
      }
    }
    refresh();
  });
  refresh();
})();
