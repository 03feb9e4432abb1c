/* initcourse: scale display math that is a little wider than its column (added by
 * book/_ext/reader_layout.py). A formula wider than the column is scaled down to fit, but
 * never below MIN_SCALE; beyond that it scrolls inside its own box (initcourse.css). Runs
 * after MathJax has typeset the page and again when the window is resized. */
(function () {
  "use strict";
  var MIN_SCALE = 0.75;

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
    pending = setTimeout(fit, 150);
  });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", whenTypeset);
  } else {
    whenTypeset();
  }
})();
