// svccheck report.html: result filters, and links into collapsed tables.
(function () {
  "use strict";
  var form = document.getElementById("filters");
  function apply() {
    if (!form) { return; }
    var results = {};
    form.querySelectorAll("input[name=result]").forEach(function (box) { results[box.value] = box.checked; });
    var suite = form.querySelector("[name=suite]").value;
    var label = form.querySelector("[name=label]").value;
    var text = form.querySelector("[name=text]").value.toLowerCase();
    var shown = 0, rows = document.querySelectorAll("#specs tbody tr.spec");
    rows.forEach(function (row) {
      var ok = results[row.dataset.result] !== false &&
        (!suite || row.dataset.suite === suite) &&
        (!label || (" " + row.dataset.labels + " ").indexOf(" " + label + " ") >= 0) &&
        (!text || row.textContent.toLowerCase().indexOf(text) >= 0);
      row.hidden = !ok;
      if (ok) { shown++; }
    });
    document.getElementById("shown").textContent = shown + " of " + rows.length + " specs shown";
  }
  if (form) {
    form.addEventListener("input", apply);
    form.addEventListener("change", apply);
    apply();
  }
  // A link to a chain inside a closed <details> opens it and lands on it.
  function reveal() {
    var id = decodeURIComponent(location.hash.slice(1));
    var el = id && document.getElementById(id);
    if (!el) { return; }
    for (var p = el.parentElement; p; p = p.parentElement) {
      if (p.tagName === "DETAILS") { p.open = true; }
    }
    document.querySelectorAll(".chain.target").forEach(function (c) { c.classList.remove("target"); });
    if (el.classList.contains("chain")) { el.classList.add("target"); }
    el.scrollIntoView();
  }
  window.addEventListener("hashchange", reveal);
  reveal();
})();
