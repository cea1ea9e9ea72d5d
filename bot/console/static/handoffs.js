// Hand-off conversation: fetch new messages every few seconds and append them as bubbles.
// The page works without this script (the "refresh" link reloads it); this only saves the reload.
(function () {
  "use strict";
  var box = document.getElementById("transcript");
  if (!box) { return; }
  var status = box.getAttribute("data-status");
  if (status !== "waiting" && status !== "active") { return; }
  var url = box.getAttribute("data-messages-url");
  var after = parseInt(box.getAttribute("data-after"), 10) || 0;
  var busy = false;
  var PERIOD_MS = 4000;

  function label(speaker) {
    return box.getAttribute("data-label-" + speaker) || speaker;
  }

  function bubble(message) {
    var div = document.createElement("div");
    div.className = "bubble bubble-" + message.speaker;
    div.setAttribute("data-testid", "message");
    div.setAttribute("data-id", String(message.id));
    div.setAttribute("data-speaker", message.speaker);
    var who = document.createElement("span");
    who.className = "who";
    who.textContent = label(message.speaker);
    var text = document.createElement("p");
    text.setAttribute("dir", "auto");
    text.textContent = message.text;  // textContent: a citizen's message is never HTML
    var time = document.createElement("time");
    time.setAttribute("datetime", message.at);
    var at = new Date(message.at);
    var iso = isNaN(at) ? "" : at.toISOString();  // UTC, like the server's "dd/mm HH:MM"
    time.textContent = iso ? iso.slice(8, 10) + "/" + iso.slice(5, 7) + " " + iso.slice(11, 16) : "";
    div.appendChild(who);
    div.appendChild(text);
    div.appendChild(time);
    return div;
  }

  function poll() {
    if (busy || document.hidden) { return; }
    busy = true;
    fetch(url + "?after=" + after, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (!data || !data.messages.length) { return; }
        var nearBottom = window.innerHeight + window.scrollY >= document.body.scrollHeight - 80;
        var empty = document.getElementById("transcript-empty");
        if (empty) { empty.remove(); }
        data.messages.forEach(function (message) {
          if (message.id > after) {
            box.appendChild(bubble(message));
            after = message.id;
          }
        });
        if (nearBottom) { box.lastElementChild.scrollIntoView({ block: "end" }); }
      })
      .catch(function () { /* the next tick tries again */ })
      .then(function () { busy = false; });
  }

  window.setInterval(poll, PERIOD_MS);
}());
