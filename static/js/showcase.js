/*
 * The typical cases showcase. Progressive enhancement only: everything works without this file.
 *
 * - <form data-showcase-filters>: choosing a year or a province submits the form at once (the
 *   city list and the key arrangements depend on them); a select with data-resets="<name>" first
 *   clears the select it governs. Without this file, the "Show cases" button does the same.
 * - [data-gallery]: selecting a thumbnail shows that picture in the large view instead of
 *   opening it (the large picture still opens at full size). With a modifier key, or without this
 *   file, the thumbnail opens the picture at full size.
 */
(function () {
  "use strict";

  var filters = document.querySelector("form[data-showcase-filters]");
  if (filters) {
    filters.addEventListener("change", function (event) {
      var select = event.target;
      if (!select || select.tagName !== "SELECT") {
        return;
      }
      var resets = select.getAttribute("data-resets");
      if (resets) {
        var governed = filters.querySelector("select[name='" + resets + "']");
        if (governed) {
          governed.value = "";
        }
      }
      filters.submit();
    });
  }

  Array.prototype.forEach.call(document.querySelectorAll("[data-gallery]"), function (gallery) {
    var image = gallery.querySelector("[data-gallery-image]");
    var link = gallery.querySelector("[data-gallery-link]");
    var caption = gallery.querySelector("[data-gallery-caption]");
    if (!image || !link) {
      return;
    }
    gallery.addEventListener("click", function (event) {
      var thumb = event.target.closest && event.target.closest(".gallery-thumbs a");
      if (!thumb || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) {
        return;
      }
      event.preventDefault();
      image.removeAttribute("width");
      image.removeAttribute("height");
      image.src = thumb.getAttribute("data-web");
      image.alt = thumb.getAttribute("data-alt") || "";
      link.href = thumb.href;
      if (caption) {
        caption.textContent = thumb.getAttribute("data-caption") || "";
      }
      Array.prototype.forEach.call(gallery.querySelectorAll(".gallery-thumbs a"), function (a) {
        if (a === thumb) {
          a.setAttribute("aria-current", "true");
        } else {
          a.removeAttribute("aria-current");
        }
      });
      link.focus();
    });
  });
})();
