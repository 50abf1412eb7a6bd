// Progressive enhancement for the native forms (login, logout): check empty
// required fields before the round trip and show a busy button while the
// server works.  Everything is checked again on the server.  Also: the
// password strength line, «Показать пароль», «Включён Caps Lock» and
// «Прослушать код».
(function () {
  "use strict";
  function setBusy(form, busy) {
    form.querySelectorAll('button[type="submit"]').forEach(function (b) {
      if (busy) { b.setAttribute("aria-busy", "true"); b.setAttribute("aria-disabled", "true"); }
      else { b.removeAttribute("aria-busy"); b.removeAttribute("aria-disabled"); }
    });
  }
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (!form || !form.matches || !form.matches('form[data-native="1"]')) return;
    if (form.dataset.submitting === "1") { ev.preventDefault(); return; }
    var firstEmpty = null;
    form.querySelectorAll('input[data-required="1"]').forEach(function (input) {
      var box = document.getElementById(input.id + "-error");
      var empty = input.value.trim() === "";
      // The words come from the server's catalogue (data-empty-message).
      if (box) box.textContent = empty ? (input.getAttribute("data-empty-message") || "") : "";
      input.setAttribute("aria-invalid", empty ? "true" : "false");
      if (empty && !firstEmpty) firstEmpty = input;
    });
    if (firstEmpty) { ev.preventDefault(); firstEmpty.focus(); return; }
    form.dataset.submitting = "1";
    setBusy(form, true);
    if (otherSite(form.action)) { ev.preventDefault(); postAcross(form); }
  }, true);

  // The split shape (README «Demo deployment»): the pages on one site, the server
  // on another.  Its cookies are kept per site of the pages (Partitioned), which a
  // browser does only for requests made by the pages, not for a navigation to
  // the server: so forms are posted, files fetched and uploads sent from here.
  function otherSite(address) {
    try { return new URL(address, location.href).origin !== location.origin; } catch (e) { return false; }
  }
  function postAcross(form) {
    var url = new URL(form.action, location.href);
    url.searchParams.set("via", "fetch");
    fetch(url.href, { method: "POST", body: new URLSearchParams(new FormData(form)), credentials: "include" })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (data) {
        if (!data || typeof data.location !== "string") return Promise.reject("no location");
        location.assign(data.location);
      })
      .catch(function () {
        form.dataset.submitting = ""; setBusy(form, false);
        say(form, form.getAttribute("data-failed"), true);
      });
  }
  // A message the page's script could not do its work with, after ``el``.
  function say(el, text, inside) {
    if (!text) return;
    var box = el.parentNode && el.parentNode.querySelector("[data-lkk-failed]");
    if (!box) {
      box = document.createElement(inside ? "p" : "span");
      box.setAttribute("data-lkk-failed", "1");
      box.setAttribute("role", "alert");
      box.className = "field-error";
      if (inside) el.insertBefore(box, el.firstChild); else el.insertAdjacentElement("afterend", box);
    }
    box.textContent = text;
  }
  function fileName(disposition) {
    var m = /filename\*=UTF-8''([^;]+)/i.exec(disposition || "");
    if (m) { try { return decodeURIComponent(m[1]); } catch (e) { /* the plain name below */ } }
    m = /filename="?([^";]+)"?/i.exec(disposition || "");
    return m ? m[1] : "";
  }
  document.addEventListener("click", function (ev) {
    var link = ev.target && ev.target.closest ? ev.target.closest("a[download][href]") : null;
    if (!link || !otherSite(link.href) || ev.defaultPrevented) return;
    ev.preventDefault();
    var href = link.href;
    link.setAttribute("aria-busy", "true");
    fetch(href, { credentials: "include" })
      .then(function (r) {
        if (!r.ok || r.redirected) return Promise.reject(r.status);
        var name = fileName(r.headers.get("Content-Disposition"));
        return r.blob().then(function (blob) {
          var a = document.createElement("a");
          a.href = URL.createObjectURL(blob);
          a.download = name || "";
          document.body.appendChild(a);
          a.click();
          a.remove();
          setTimeout(function () { URL.revokeObjectURL(a.href); }, 60000);
        });
      })
      .catch(function () { say(link, link.getAttribute("data-failed"), false); })
      .then(function () { link.removeAttribute("aria-busy"); });
  });
  var xhrOpen = XMLHttpRequest.prototype.open;
  XMLHttpRequest.prototype.open = function (method, address) {
    xhrOpen.apply(this, arguments);
    if (otherSite(String(address))) this.withCredentials = true;  // a file for «Показания»
  };
  // Live password-strength hint (registration, password change): computed in
  // the browser so no keystroke leaves it; the server checks the password again.
  function strength(pw) {
    if (pw.length < 8) return 0;
    var classes = 0;
    [/[a-zа-яё]/, /[A-ZА-ЯЁ]/, /[0-9]/, /[^A-Za-zА-Яа-яЁё0-9]/].forEach(function (re) {
      if (re.test(pw)) classes += 1;
    });
    var score = 1;
    if (pw.length >= 12) score += 1;
    if (pw.length >= 16) score += 1;
    if (classes >= 3) score += 1;
    if (/^(.)\1+$/.test(pw) || /^(?:0123|1234|qwer|йцук|pass|пароль)/i.test(pw)) score = 1;
    return Math.min(score, 4);
  }
  document.addEventListener("input", function (ev) {
    var input = ev.target;
    if (!input || !input.id) return;
    var hint = document.querySelector('.strength[data-for="' + input.id + '"]');
    if (!hint) return;
    if (input.value === "") { hint.textContent = ""; hint.removeAttribute("data-level"); return; }
    var level = strength(input.value);
    hint.textContent = hint.getAttribute("data-s" + level) || "";
    hint.setAttribute("data-level", String(level));
  }, true);

  // The end of a login wait in the user's own clock time: the server gives
  // the moment (Unix seconds), the browser knows the time zone.
  function fillClocks() {
    document.querySelectorAll("[data-lkk-until]").forEach(function (el) {
      var until = Number(el.getAttribute("data-lkk-until"));
      if (!until || el.getAttribute("data-filled") === String(until)) return;
      var time = new Date(until * 1000).toLocaleTimeString("ru-RU",
        { hour: "2-digit", minute: "2-digit", second: "2-digit" });
      el.textContent = (el.getAttribute("data-prefix") || "{time}").replace("{time}", time);
      el.setAttribute("data-filled", String(until));
    });
  }
  // «Повторите попытку через N с»: the line .wait-tick counts the seconds left
  // (data-lkk-countdown, from the server, so the browser's clock does not
  // matter) down in the words of data-template, data-min-sec and data-sec; the
  // server's own words stay for screen readers, which hear no ticking.  At zero
  // it says data-done, for them too (once, in the line .wait-said).
  function waitWords(tick, left) {
    var minutes = Math.floor(left / 60), seconds = left % 60;
    var wait = minutes
      ? (tick.getAttribute("data-min-sec") || "").replace("{minutes}", minutes).replace("{seconds}", seconds)
      : (tick.getAttribute("data-sec") || "").replace("{seconds}", seconds);
    return (tick.getAttribute("data-template") || "").replace("{wait}", wait);
  }
  var ticking = null;
  function countDown() {
    var now = Date.now(), running = false;
    document.querySelectorAll(".wait-tick[data-lkk-countdown]").forEach(function (tick) {
      var given = tick.getAttribute("data-lkk-countdown");
      if (tick.getAttribute("data-from") !== given) {
        tick.setAttribute("data-from", given);
        tick.setAttribute("data-start", String(now));
      }
      var line = tick.parentNode, text = line.querySelector(".wait-text");
      var left = Number(given) - Math.floor((now - Number(tick.getAttribute("data-start"))) / 1000);
      if (!(Number(given) > 0)) return;
      if (text) text.setAttribute("data-ticking", "1");
      if (left > 0) {
        running = true;
        var words = waitWords(tick, left);
        if (tick.textContent !== words) tick.textContent = words;
        return;
      }
      if (tick.getAttribute("data-over") === "1") return;
      tick.setAttribute("data-over", "1");
      tick.textContent = tick.getAttribute("data-done") || "";
      line.querySelectorAll(".wait-text, .wait-clock").forEach(function (el) { el.hidden = true; });
      var said = line.querySelector(".wait-said");
      if (said) said.textContent = tick.getAttribute("data-done") || "";
    });
    if (running && ticking === null) ticking = setInterval(countDown, 250);
    if (!running && ticking !== null) { clearInterval(ticking); ticking = null; }
  }
  // A field with data-prefill gets that value once, if it is still empty (the
  // login handed back after a failed attempt: the server says it, never the address);
  // then the field named by data-prefill-next takes the focus, if this one had it
  // (or nothing had): after a refused password, the password is typed again.
  function prefill() {
    document.querySelectorAll("input[data-prefill]:not([data-prefilled])").forEach(function (input) {
      var value = input.getAttribute("data-prefill");
      if (!value) return;
      input.setAttribute("data-prefilled", "1");
      if (input.value !== "") return;
      input.value = value.slice(0, 64);
      var next = document.getElementById(input.getAttribute("data-prefill-next") || "");
      var active = document.activeElement;
      if (next && (active === input || !active || active === document.body)) next.focus();
    });
  }
  // Inline confirmations («Выйти на всех устройствах», «Отвязать договор»): the
  // box data-confirm="<id>" shown in place of the button data-confirm-opener="<id>".
  // When it opens, the focus goes to its «Отмена» (data-confirm-cancel) and
  // Escape presses that; when it closes, the focus goes back to the opener —
  // or, when that is gone too (the thing was done), to the element named by
  // data-confirm-return.  Likewise a button data-focus-return="<id>" that goes
  // away while it has the focus (a row's «Завершить») hands it to that element.
  var openConfirms = {};
  var lastFocused = null;
  document.addEventListener("focusin", function (ev) { lastFocused = ev.target; }, true);
  function focusLost() {
    var active = document.activeElement;
    return !active || active === document.body || !active.isConnected;
  }
  function focusOn(el) {
    if (!el) return false;
    if (!el.matches("a[href], button, input, select, textarea, [tabindex]")) el.setAttribute("tabindex", "-1");
    el.focus();
    return document.activeElement === el;
  }
  function confirmations() {
    var open = {};
    document.querySelectorAll("[data-confirm]").forEach(function (box) {
      var name = box.getAttribute("data-confirm");
      open[name] = box.getAttribute("data-confirm-return") || "";
      if (!Object.prototype.hasOwnProperty.call(openConfirms, name)) {
        var cancel = box.querySelector("[data-confirm-cancel]");
        if (cancel) cancel.focus();
      }
    });
    Object.keys(openConfirms).forEach(function (name) {
      if (Object.prototype.hasOwnProperty.call(open, name) || !focusLost()) return;
      var opener = document.querySelector('[data-confirm-opener="' + name + '"]');
      if (!(opener && !opener.disabled && focusOn(opener))) focusOn(document.getElementById(openConfirms[name]));
    });
    openConfirms = open;
    if (lastFocused && !lastFocused.isConnected) {
      var target = lastFocused.getAttribute("data-focus-return");
      lastFocused = null;
      if (target && focusLost()) focusOn(document.getElementById(target));
    }
  }
  document.addEventListener("keydown", function (ev) {
    if (ev.key !== "Escape" || ev.defaultPrevented) return;
    var box = ev.target && ev.target.closest ? ev.target.closest("[data-confirm]") : null;
    var cancel = box ? box.querySelector("[data-confirm-cancel]") : null;
    if (!cancel || cancel.disabled || box.querySelector('[aria-busy="true"]')) return;
    ev.preventDefault();
    cancel.click();
  });
  function enhance() { fillClocks(); countDown(); prefill(); confirmations(); }
  new MutationObserver(enhance).observe(document.documentElement,
    { childList: true, subtree: true, attributes: true, attributeFilter: ["data-prefill", "data-lkk-until", "data-lkk-countdown"] });
  document.addEventListener("DOMContentLoaded", enhance);

  // «Копировать»: a button with data-copy="<id>" puts that element's text on the
  // clipboard and says so in its data-done words (in the live region data-status).
  document.addEventListener("click", function (ev) {
    var button = ev.target && ev.target.closest ? ev.target.closest("button[data-copy]") : null;
    if (!button) return;
    var source = document.getElementById(button.getAttribute("data-copy"));
    var status = document.getElementById(button.getAttribute("data-status") || "");
    if (!source) return;
    var text = source.textContent.trim();
    function done(ok) {
      if (status) status.textContent = button.getAttribute(ok ? "data-done" : "data-failed") || "";
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(function () { done(true); }, function () { done(false); });
    } else {
      var range = document.createRange();
      range.selectNodeContents(source);
      var selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
      var ok = false;
      try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
      done(ok);
    }
  });

  // «Показать пароль» / «Скрыть пароль»: a button with data-toggle-password="<id>"
  // switches that input between hidden and shown characters; its words come
  // from data-show and data-hide.
  function showPassword(button, show) {
    var input = document.getElementById(button.getAttribute("data-toggle-password"));
    if (!input) return;
    input.type = show ? "text" : "password";
    var words = button.getAttribute(show ? "data-hide" : "data-show") || "";
    var name = button.querySelector(".sr-only");
    if (name) name.textContent = words;
    button.setAttribute("title", words);
    button.setAttribute("data-shown", show ? "1" : "0");
  }
  document.addEventListener("click", function (ev) {
    var button = ev.target && ev.target.closest ? ev.target.closest("button[data-toggle-password]") : null;
    if (button) showPassword(button, button.getAttribute("data-shown") !== "1");
  });
  // A form is never sent with a password shown (the browser would keep it
  // like any text it remembers for a field).
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (!form || !form.querySelectorAll) return;
    form.querySelectorAll('button[data-toggle-password][data-shown="1"]').forEach(function (b) {
      showPassword(b, false);
    });
  }, true);

  // «Включён Caps Lock» under a password field while it has the focus: the
  // line with data-caps-for="<id>" gets its data-text.
  function capsLine(input) {
    return input && input.id ? document.querySelector('[data-caps-for="' + input.id + '"]') : null;
  }
  function capsState(ev) {
    var line = capsLine(ev.target);
    if (!line || typeof ev.getModifierState !== "function") return;
    var on = ev.getModifierState("CapsLock");
    var text = on ? (line.getAttribute("data-text") || "") : "";
    if (line.textContent !== text) line.textContent = text;
  }
  document.addEventListener("keydown", capsState, true);
  document.addEventListener("keyup", capsState, true);
  document.addEventListener("focusout", function (ev) {
    var line = capsLine(ev.target);
    if (line) line.textContent = "";
  }, true);

  // «Прослушать код»: a button with data-play="<id>" plays that <audio> from the
  // start; when it cannot, its data-failed words go to the data-status element.
  function playFailed(button) {
    var status = document.getElementById(button.getAttribute("data-status") || "");
    if (status) status.textContent = button.getAttribute("data-failed") || "";
  }
  document.addEventListener("click", function (ev) {
    var button = ev.target && ev.target.closest ? ev.target.closest("button[data-play]") : null;
    if (!button) return;
    var audio = document.getElementById(button.getAttribute("data-play"));
    var status = document.getElementById(button.getAttribute("data-status") || "");
    if (status) status.textContent = "";
    if (!audio || typeof audio.play !== "function") { playFailed(button); return; }
    try { audio.currentTime = 0; } catch (e) { /* not loaded yet */ }
    var played = audio.play();
    if (played && typeof played.catch === "function") {
      played.catch(function (err) {
        if (!err || err.name !== "AbortError") playFailed(button);
      });
    }
  });
  document.addEventListener("error", function (ev) {
    var audio = ev.target;
    if (!audio || audio.tagName !== "AUDIO" || !audio.id) return;
    var button = document.querySelector('button[data-play="' + audio.id + '"]');
    if (button) playFailed(button);
  }, true);

  window.addEventListener("pageshow", function () {
    document.querySelectorAll('form[data-native="1"]').forEach(function (form) {
      form.dataset.submitting = "";
      setBusy(form, false);
    });
  });
})();
