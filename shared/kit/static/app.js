// Bangban: keeps what was typed into a form whose session had expired. The form is sent as
// usual (every form works without this script); if the server sends the browser to the login
// page instead, the fields are put back once the operator has logged in again and returned to
// the form. Drafts live in this tab's sessionStorage only, never hold the CSRF token or a
// password, are used once and are dropped after four hours.
(function () {
  "use strict";
  var PREFIX = "bangban.draft:";
  var MAX_AGE_MS = 4 * 3600 * 1000;

  function keyOf(form) {
    return PREFIX + form.getAttribute("action") + "#" + (form.id || "");
  }

  function kept(el) {
    return el.name && el.name !== "csrf" && el.type !== "password" && el.type !== "file" &&
      el.type !== "submit" && el.type !== "button";
  }

  function save(form) {
    var fields = [];
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!kept(el)) return;
      if ((el.type === "checkbox" || el.type === "radio") && !el.checked) return;
      fields.push([el.name, el.value]);
    });
    try {
      sessionStorage.setItem(keyOf(form), JSON.stringify({ at: Date.now(), fields: fields }));
    } catch (e) { /* storage full or disabled: the form still posts */ }
  }

  function restore(form, fromLogin) {
    var raw = null;
    try {
      raw = sessionStorage.getItem(keyOf(form));
      sessionStorage.removeItem(keyOf(form));
    } catch (e) { return; }
    if (!raw || !fromLogin) return;
    var draft;
    try { draft = JSON.parse(raw); } catch (e) { return; }
    if (!draft || !draft.fields || Date.now() - draft.at > MAX_AGE_MS) return;
    var used = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!kept(el)) return;
      var values = draft.fields.filter(function (f) { return f[0] === el.name; })
        .map(function (f) { return f[1]; });
      if (el.type === "checkbox" || el.type === "radio") {
        el.checked = values.indexOf(el.value) >= 0;
      } else if (values.length) {
        var i = used[el.name] || 0;
        if (i < values.length) el.value = values[i];
        used[el.name] = i + 1;
      }
    });
    var note = document.createElement("p");
    note.className = "notice";
    note.setAttribute("role", "status");
    note.id = "draft-restored";
    note.textContent = form.getAttribute("data-restored") || "";
    form.parentNode.insertBefore(note, form);
  }

  var fromLogin = false;
  try { fromLogin = !!document.referrer && new URL(document.referrer).pathname === "/login"; }
  catch (e) { fromLogin = false; }
  Array.prototype.forEach.call(document.querySelectorAll("form[data-keep]"), function (form) {
    restore(form, fromLogin);
    form.addEventListener("submit", function () { save(form); });
  });
})();
