// Optional: refresh the headline numbers from the delayed feeds every 5 minutes. The page works without it.
(function () {
  "use strict";
  if (!/^https?:$/.test(window.location.protocol)) { return; }
  var root = document.body.getAttribute("data-root") || "";
  function dollars(s) {
    var cents = Math.round(parseFloat(s) * 100) / 100;
    var sign = cents > 0 ? "+" : (cents < 0 ? "\u2212" : "");
    return sign + "$" + Math.abs(cents).toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  }
  function show(name, text) {
    var el = document.querySelector('[data-feed="' + name + '"]');
    if (el) { el.textContent = text; }
  }
  function refresh() {
    fetch(root + "api/v1/hero.json", { cache: "no-cache" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (hero) {
        if (!hero) { return; }
        show("hero.total_pnl", dollars(hero.total_pnl));
        show("hero.win_rate", hero.win_rate === null ? "\u2014" : (hero.win_rate * 100).toFixed(1) + "%");
        show("hero.trades_today", String(hero.trades_today));
        show("hero.active_positions", String(hero.active_positions));
        show("as_of", hero.as_of.replace("T", " ").replace(":00Z", " UTC"));
      })
      .catch(function () { /* keep the numbers the page was built with */ });
  }
  window.setInterval(refresh, 300000);
})();
