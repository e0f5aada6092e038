// Apply the remembered theme before the first paint (no flash of the wrong theme).
(function () {
  var t = null;
  try { t = localStorage.getItem("vigil.theme"); } catch (e) {}
  if (t !== "light" && t !== "dark") {
    t = window.matchMedia && matchMedia("(prefers-color-scheme: light)").matches ? "light" : "dark";
  }
  document.documentElement.setAttribute("data-theme", t);
})();
