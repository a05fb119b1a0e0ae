/*
 * Progressive enhancement only: every page works without this file.
 * Loaded with `defer` from base.html; no inline scripts (Content-Security-Policy).
 *
 * - <form data-confirm="Question?">: asks before submitting (e.g. withdrawing a registration).
 * - messages: gain a button to dismiss them.
 * - the main navigation, one scrolling line on phones: the current page's link is scrolled into view.
 * - tables shown as cards on phones (.table-stack): explicit table roles, as some browsers drop a
 *   table's semantics for screen readers once CSS changes its display.
 */
(function () {
  "use strict";

  var html = document.documentElement;
  var isEnglish = (html.lang || "").toLowerCase().indexOf("en") === 0;

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });

  var dismissLabel = isEnglish ? "Dismiss message" : "关闭提示";
  var items = document.querySelectorAll(".messages > li");
  Array.prototype.forEach.call(items, function (item) {
    var button = document.createElement("button");
    button.type = "button";
    button.className = "dismiss";
    button.setAttribute("aria-label", dismissLabel);
    button.textContent = "×";
    button.addEventListener("click", function () {
      var list = item.parentNode;
      item.parentNode.removeChild(item);
      if (list && !list.children.length) {
        list.parentNode.removeChild(list);
      }
    });
    item.appendChild(button);
  });

  var current = document.querySelector(".site-nav [aria-current='page']");
  var navList = current && current.closest("ul");
  if (navList && navList.scrollWidth > navList.clientWidth) {
    var listBox = navList.getBoundingClientRect();
    var linkBox = current.getBoundingClientRect();
    navList.scrollLeft += linkBox.left - listBox.left - (listBox.width - linkBox.width) / 2;
  }

  var roles = [
    ["thead, tbody, tfoot", "rowgroup"],
    ["tr", "row"],
    ["thead th", "columnheader"],
    ["tbody th", "rowheader"],
    ["td", "cell"]
  ];
  Array.prototype.forEach.call(document.querySelectorAll("table.table-stack"), function (table) {
    table.setAttribute("role", "table");
    roles.forEach(function (pair) {
      Array.prototype.forEach.call(table.querySelectorAll(pair[0]), function (element) {
        element.setAttribute("role", pair[1]);
      });
    });
  });
})();
