// Enhancements for the survey pages; everything works without them.
// - The builder scrolls back to the question or page a button changed.
// - Copy buttons (hidden without JavaScript) copy a link to the clipboard.
// - Forms with data-confirm ask before they post (closing a survey).
(function () {
  "use strict";
  var builder = document.querySelector("form.builder[data-focus]");
  if (builder) {
    var focus = builder.getAttribute("data-focus");
    var err = document.getElementById("builder-error") || document.querySelector(".question.has-errors");
    var target = err || (focus && document.getElementById(focus));
    if (target) {
      target.scrollIntoView({ block: "start" });
    }
  }
  document.querySelectorAll("button[data-copy]").forEach(function (b) {
    var input = document.getElementById(b.getAttribute("data-copy"));
    if (!input || !navigator.clipboard) {
      return;
    }
    b.hidden = false;
    b.addEventListener("click", function () {
      navigator.clipboard.writeText(input.value).then(function () {
        b.setAttribute("aria-pressed", "true");
      });
    });
  });
  document.querySelectorAll("form[data-confirm]").forEach(function (f) {
    f.addEventListener("submit", function (e) {
      if (!window.confirm(f.getAttribute("data-confirm"))) {
        e.preventDefault();
      }
    });
  });
})();
