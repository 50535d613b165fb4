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
