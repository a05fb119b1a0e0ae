// Review queue: a "select all" box for bulk approval. Without JavaScript it stays hidden and
// each activity is ticked on its own.
(function () {
  "use strict";
  var all = document.querySelector("[data-select-all]");
  if (!all) return;
  var items = Array.prototype.slice.call(document.querySelectorAll("[data-select-item]"));
  if (!items.length) return;
  all.hidden = false;
  function sync() {
    var ticked = items.filter(function (box) { return box.checked; }).length;
    all.checked = ticked === items.length;
    all.indeterminate = ticked > 0 && ticked < items.length;
  }
  all.addEventListener("change", function () {
    items.forEach(function (box) { box.checked = all.checked; });
  });
  items.forEach(function (box) { box.addEventListener("change", sync); });
  sync();
})();
