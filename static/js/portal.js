/*
 * Progressive enhancement only: every page works without this file.
 * Loaded with `defer` from base.html; no inline scripts (Content-Security-Policy).
 *
 * - <form data-confirm="Question?">: asks before submitting (e.g. withdrawing a registration).
 * - messages: gain a button to dismiss them.
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
})();
