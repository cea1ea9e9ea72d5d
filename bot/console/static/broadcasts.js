/* Broadcasts: the form's live audience count and previews, the confirmation's single submit,
   and the live progress bar of a broadcast. Every page works without it. */
(function () {
  "use strict";
  var LANGUAGES = ["fr", "ary", "ary_latn"];
  var DARIJA = ["ary", "ary_latn"];
  var COUNTS = ["total", "sent", "delivered", "failed", "pending", "skipped"];

  /* The language whose text a subscriber of `lang` gets: the engine's fallback order. */
  function source(texts, lang) {
    var order = [lang];
    if (DARIJA.indexOf(lang) >= 0) {
      DARIJA.forEach(function (d) { if (d !== lang) { order.push(d); } });
    }
    order = order.concat(["fr"], LANGUAGES);
    for (var i = 0; i < order.length; i++) {
      if (texts[order[i]]) { return order[i]; }
    }
    return null;
  }

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; });
  }

  function setupForm(form) {
    var timer = null;
    var previews = form.querySelector("#previews");

    function refreshCount() {
      var params = new URLSearchParams();
      ["channels", "languages", "districts", "topics"].forEach(function (name) {
        form.querySelectorAll('input[name="' + name + '"]:checked').forEach(function (box) {
          params.append(name, box.value);
        });
      });
      var template = form.querySelector("#template_name");
      if (template && template.value.trim()) { params.append("template_name", template.value.trim()); }
      getJSON(form.dataset.countUrl + "?" + params.toString()).then(function (data) {
        if (!data) { return; }
        var values = Object.assign({ total: data.total }, data.reach);
        Object.keys(values).forEach(function (key) {
          var el = form.querySelector('[data-estimate="' + key + '"]');
          if (el) { el.textContent = values[key]; }
        });
      }).catch(function () { /* the preview button still works */ });
    }

    function later() {
      clearTimeout(timer);
      timer = setTimeout(refreshCount, 250);
    }

    function refreshPreviews() {
      if (!previews) { return; }
      var texts = {};
      LANGUAGES.forEach(function (lang) {
        var area = form.querySelector("#text_" + lang);
        texts[lang] = area ? area.value.trim() : "";
      });
      previews.querySelectorAll("[data-preview-for]").forEach(function (figure) {
        var lang = figure.dataset.previewFor;
        var from = source(texts, lang);
        var text = from ? texts[from] : "";
        var bubble = figure.querySelector('[data-role="text"]');
        bubble.textContent = text;
        bubble.dir = from === "ary" ? "rtl" : "ltr";
        figure.querySelector('[data-role="length"]').textContent =
          previews.dataset.lengthLabel.replace("{count}", String(text.length));
        var other = from && from !== lang ? previews.querySelector('[data-preview-for="' + from + '"]') : null;
        figure.querySelector('[data-role="fallback"]').textContent = other
          ? previews.dataset.fallbackLabel.replace("{language}", other.dataset.languageName) : "";
      });
    }

    form.addEventListener("change", function (event) {
      if (event.target.type === "checkbox") { later(); }
    });
    var template = form.querySelector("#template_name");
    if (template) { template.addEventListener("input", later); }
    LANGUAGES.forEach(function (lang) {
      var area = form.querySelector("#text_" + lang);
      if (area) { area.addEventListener("input", refreshPreviews); }
    });
  }

  function setupProgress(box) {
    var started = box.dataset.status;
    if (!box.dataset.url || started === "done" || started === "cancelled") { return; }
    function tick() {
      getJSON(box.dataset.url).then(function (p) {
        if (!p) { setTimeout(tick, 1000); return; }
        box.dataset.percent = p.percent;
        box.dataset.status = p.status;
        box.querySelector("progress").value = p.percent;
        box.querySelector('[data-field="percent"]').textContent = p.percent + " %";
        COUNTS.forEach(function (key) {
          var el = document.getElementById("count-" + key);
          if (el) { el.textContent = p[key]; }
        });
        if (p.finished) { window.location.reload(); return; }  /* the report is drawn by the server */
        setTimeout(tick, 1000);
      }).catch(function () { setTimeout(tick, 1000); });
    }
    setTimeout(tick, 1000);
  }

  function setupConfirm(form) {
    /* One broadcast per confirmation, however often the button is clicked. */
    form.addEventListener("submit", function (event) {
      if (form.dataset.sent) { event.preventDefault(); return; }
      form.dataset.sent = "1";
    });
  }

  var form = document.getElementById("broadcast-form");
  if (form) { setupForm(form); }
  var confirmForm = document.getElementById("confirm-form");
  if (confirmForm) { setupConfirm(confirmForm); }
  var live = document.querySelector('[data-testid="broadcast-progress"][data-url]');
  if (live) { setupProgress(live); }
})();
