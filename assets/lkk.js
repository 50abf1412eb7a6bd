// Progressive enhancement for the native forms (login, logout): check empty
// required fields before the round trip and show a busy button while the
// server works.  Everything is checked again on the server.
(function () {
  "use strict";
  function setBusy(form, busy) {
    form.querySelectorAll('button[type="submit"]').forEach(function (b) {
      if (busy) { b.setAttribute("aria-busy", "true"); b.setAttribute("aria-disabled", "true"); }
      else { b.removeAttribute("aria-busy"); b.removeAttribute("aria-disabled"); }
    });
  }
  var MESSAGES = { login: "Введите имя пользователя", password: "Введите пароль" };
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (!form || !form.matches || !form.matches('form[data-native="1"]')) return;
    if (form.dataset.submitting === "1") { ev.preventDefault(); return; }
    var firstEmpty = null;
    form.querySelectorAll('input[data-required="1"]').forEach(function (input) {
      var box = document.getElementById(input.id + "-error");
      var empty = input.value.trim() === "";
      if (box) box.textContent = empty ? (MESSAGES[input.name] || "Заполните это поле") : "";
      input.setAttribute("aria-invalid", empty ? "true" : "false");
      if (empty && !firstEmpty) firstEmpty = input;
    });
    if (firstEmpty) { ev.preventDefault(); firstEmpty.focus(); return; }
    form.dataset.submitting = "1";
    setBusy(form, true);
  }, true);
  window.addEventListener("pageshow", function () {
    document.querySelectorAll('form[data-native="1"]').forEach(function (form) {
      form.dataset.submitting = "";
      setBusy(form, false);
    });
  });
})();
