// Live dashboard pages. When the record changes the server says so over /events and the page
// fetches itself again and swaps its main content in place: no reload, scroll and focus kept.
// If the stream cannot be kept up, the page says so and falls back to refreshing itself.
(function () {
  "use strict";
  var body = document.body;
  var since = body.getAttribute("data-live-since");
  if (since === null || !window.EventSource || !window.fetch || !window.DOMParser) {
    return;
  }
  var REFRESH_MS = 15000;
  var GIVE_UP_MS = 10000;
  var status = document.getElementById("live-status");
  var stale = false;
  var fetching = false;
  var fallback = null;
  var lostAt = null;

  // Countdowns: "in 4 min" / "overdue by 3 min" keep counting between redraws. Times are the
  // server's (its clock may be an exercise's), offset by when this page was drawn.
  var drawnAt = Date.now();
  function span(seconds) {
    var total = Math.max(0, Math.floor(seconds));
    if (total < 60) { return total + " s"; }
    if (total < 3600) { return Math.floor(total / 60) + " min"; }
    if (total < 86400) {
      var m = Math.floor((total % 3600) / 60);
      return Math.floor(total / 3600) + " h " + (m < 10 ? "0" : "") + m + " min";
    }
    return Math.floor(total / 86400) + " d " + Math.floor((total % 86400) / 3600) + " h";
  }
  function tick() {
    var shown = document.querySelectorAll("[data-due][data-now]");
    for (var i = 0; i < shown.length; i++) {
      var el = shown[i];
      var now = Date.parse(el.getAttribute("data-now")) + (Date.now() - drawnAt);
      var left = (Date.parse(el.getAttribute("data-due")) - now) / 1000;
      if (isNaN(left)) { continue; }
      el.textContent = left >= 1 ? "in " + span(left) : (left > -1 ? "due now" : "overdue by " + span(-left));
      if (left < 0) { el.classList.add("overdue"); el.classList.remove("due"); }
    }
  }
  window.setInterval(tick, 15000);

  function say(state, text) {
    if (!status) { return; }
    status.setAttribute("data-state", state);
    status.textContent = text;
  }

  function typing() {
    var el = document.activeElement;
    var main = document.querySelector("main");
    return el && main && main.contains(el) &&
      /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName) && el.type !== "submit";
  }

  function swap() {
    if (fetching) { stale = true; return; }
    if (typing()) {
      // Never replace a form under someone's fingers: apply the update once they leave it.
      stale = true;
      say("waiting", "Updates waiting — they appear when you leave this field");
      return;
    }
    fetching = true;
    stale = false;
    fetch(window.location.href, { credentials: "same-origin", headers: { "X-Live": "1" } })
      .then(function (response) {
        if (!response.ok || response.redirected) { throw new Error("status " + response.status); }
        return response.text();
      })
      .then(function (text) {
        var next = new DOMParser().parseFromString(text, "text/html");
        var fresh = next.querySelector("main");
        var main = document.querySelector("main");
        if (!fresh || !main) { return; }
        main.innerHTML = fresh.innerHTML;
        drawnAt = Date.now();
        document.title = next.title;
        body.setAttribute("data-updated", new Date().toISOString());
        say("live", "Live");
      })
      .catch(function () { window.location.reload(); })
      .then(function () {
        fetching = false;
        if (stale) { swap(); }
      });
  }

  document.addEventListener("focusout", function () {
    window.setTimeout(function () { if (stale && !typing()) { swap(); } }, 0);
  });

  function refreshInstead() {
    say("lost", "Live updates lost — this page refreshes every 15 s");
    if (fallback === null) {
      fallback = window.setInterval(function () {
        if (!typing()) { window.location.reload(); }
      }, REFRESH_MS);
    }
  }

  // Opened after the load event: a stream that never ends would otherwise keep the page
  // "loading" for ever.
  function listen() {
    var source = new EventSource("/events?since=" + encodeURIComponent(since));
    source.addEventListener("open", function () {
      lostAt = null;
      if (fallback !== null) { window.clearInterval(fallback); fallback = null; swap(); }
      say("live", "Live");
    });
    source.addEventListener("change", swap);
    // The server cannot reach its database: keep what was last drawn and say since when.
    source.addEventListener("database", function (event) {
      if (event.data === "ok") { say("live", "Live"); swap(); return; }
      var since = new Date(event.data);
      var hhmm = isNaN(since) ? event.data : since.toISOString().slice(11, 16) + " UTC";
      say("database", "Database unreachable since " + hhmm + " — showing what was last seen");
    });
    source.addEventListener("error", function () {
      // The browser retries by itself; only a stream that stays down falls back to refreshing.
      if (source.readyState === EventSource.CLOSED) { refreshInstead(); return; }
      if (lostAt === null) { lostAt = Date.now(); say("reconnecting", "Reconnecting…"); }
      if (Date.now() - lostAt > GIVE_UP_MS) { refreshInstead(); }
    });
  }

  if (document.readyState === "complete") { listen(); }
  else { window.addEventListener("load", listen); }

  window.setInterval(function () {
    if (lostAt !== null && Date.now() - lostAt > GIVE_UP_MS) { refreshInstead(); }
  }, 2000);
})();
