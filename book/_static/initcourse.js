/* initcourse: the site's script (added by book/_ext/reader_layout.py).
 *
 * 1. Display math a little wider than its column is scaled down to fit, but never below
 *    MIN_SCALE; beyond that it scrolls inside its own box (initcourse.css). Runs after MathJax
 *    has typeset the page and again when the window is resized.
 * 2. On a phone, a figure is never shrunk below MIN_FIGURE_SCALE of its display size, so its
 *    9-pt labels (11.25 px at 90 dpi) stay 7 px or more; a wider figure scrolls sideways in
 *    its own box instead of widening the page. (A figure at most 6.4 inches wide never needs
 *    to.) */
(function () {
  "use strict";
  var MIN_SCALE = 0.75;
  var PHONE_WIDTH = 600;
  var MIN_FIGURE_SCALE = 0.62;

  function fitFigures() {
    var phone = window.innerWidth <= PHONE_WIDTH;
    document.querySelectorAll(".bd-article .cell_output img").forEach(function (img) {
      var display = parseFloat(img.style.width) || parseFloat(img.getAttribute("width")) || img.naturalWidth;
      if (phone && display) {
        if (!img.parentElement.classList.contains("initcourse-scroll-x")) {
          var box = document.createElement("div");
          box.className = "initcourse-scroll-x";
          img.parentElement.insertBefore(box, img);
          box.appendChild(img);
        }
        img.style.minWidth = Math.ceil(display * MIN_FIGURE_SCALE) + "px";
      } else {
        img.style.minWidth = "";
      }
    });
  }

  function fit() {
    document.querySelectorAll('mjx-container[display="true"]').forEach(function (box) {
      if (box.dataset.initcourseSize === undefined) {
        box.dataset.initcourseSize = box.style.fontSize || "";
      }
      box.style.fontSize = box.dataset.initcourseSize;
      var need = box.scrollWidth;
      var have = box.clientWidth;
      if (have > 0 && need > have + 1) {
        var base = parseFloat(box.dataset.initcourseSize) || 100;
        var scale = Math.max(MIN_SCALE, (have - 2) / need);
        box.style.fontSize = (base * scale).toFixed(1) + "%";
      }
    });
  }

  function whenTypeset() {
    if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
      MathJax.startup.promise.then(fit);
      return;
    }
    if (document.querySelector(".math")) {
      setTimeout(whenTypeset, 100);
    }
  }

  var pending;
  window.addEventListener("resize", function () {
    clearTimeout(pending);
    pending = setTimeout(function () {
      fit();
      fitFigures();
    }, 150);
  });
  window.addEventListener("load", fitFigures);
  function start() {
    fitFigures();
    whenTypeset();
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
