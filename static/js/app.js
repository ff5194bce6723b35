// Small progressive enhancements; every page works without this file.
"use strict";
(() => {
  const pad = (n) => String(n).padStart(2, "0");
  const fmt = (ms) => {
    const s = Math.max(0, Math.floor(Math.abs(ms) / 1000));
    return `${Math.floor(s / 3600)}:${pad(Math.floor((s % 3600) / 60))}:${pad(s % 60)}`;
  };

  // A bedside GO stops holding when the bag expires or the verification's validity ends
  // (data-until, SPEC 4.8): the page marks it lapsed and disables what it allowed.
  const lapse = (decision) => {
    decision.classList.add("lapsed");
    const note = decision.querySelector(".lapsed-note");
    if (note) note.hidden = false;
    const scope = decision.closest(".bedside-verification") || document;
    scope.querySelectorAll("[data-lapses]").forEach((el) => { el.disabled = true; });
  };

  // Live clocks: <time data-since="ISO" data-until="ISO"> shows time since filling and to
  // expiry. Each tick reads the page as it is now, so content shown in place ticks too.
  const tick = () => {
    const now = Date.now();
    document.querySelectorAll("time[data-since]").forEach((el) => {
      let text = fmt(now - Date.parse(el.dataset.since));
      if (el.dataset.until) {
        const left = Date.parse(el.dataset.until) - now;
        text += left > 0 ? ` (${fmt(left)} ${el.dataset.leftLabel || "left"})`
                         : ` (${el.dataset.expiredLabel || "EXPIRED"})`;
        el.classList.toggle("expired", left <= 0);
      }
      el.textContent = text;
    });
    document.querySelectorAll(".decision[data-until]:not(.lapsed)").forEach((el) => {
      if (Date.parse(el.dataset.until) <= now) lapse(el);
    });
  };
  let ticking = null;
  const enhance = () => {
    // A keyboard-wedge scanner types fast and presses Enter: keep the autofocus field focused
    // after a flash message, a failed scan or an answer shown in place.
    const focus = document.querySelector("[autofocus]");
    if (focus && (!document.activeElement || document.activeElement === document.body)) {
      focus.focus();
    }
    if (ticking === null && document.querySelector("time[data-since], .decision[data-until]")) {
      ticking = setInterval(tick, 1000);
    }
    tick();
  };

  // The bedside scan form (data-fragment, SPEC 9): Enter posts with fetch and the answer is
  // shown in place, one round trip, no navigation. A decision arrives as the verification's
  // own partial with Content-Location, the verification page, put in the address bar so a
  // reload shows the recorded verification; any other answer is a whole page, shown as the
  // browser would have shown it. Without this script the plain form posts as before.
  const showInPlace = (html, location) => {
    const main = document.getElementById("main");
    const template = document.createElement("template");
    template.innerHTML = html;
    main.replaceChildren(template.content);
    window.history.replaceState(null, "", location);
  };
  const showPage = (html) => {
    const page = new DOMParser().parseFromString(html, "text/html");
    document.title = page.title;
    document.body.replaceWith(page.body);
  };
  const showNoAnswer = (form) => {
    form.querySelectorAll(".no-answer").forEach((el) => el.remove());
    const note = document.createElement("p");
    note.className = "error no-answer";
    note.setAttribute("role", "alert");
    note.textContent = form.dataset.noAnswer;
    form.prepend(note);
  };
  const send = async (form) => {
    let response;
    let html;
    try {
      response = await fetch(form.dataset.fragment, {
        method: "POST", body: new FormData(form), credentials: "same-origin",
      });
      html = await response.text();
    } catch {
      showNoAnswer(form);
      return;
    }
    if (response.redirected) {  // signed out meanwhile: go where the server sends us
      window.location.assign(response.url);
      return;
    }
    const location = response.headers.get("Content-Location");
    if (response.ok && location) showInPlace(html, location);
    else showPage(html);
    enhance();
  };
  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.dataset.fragment) return;
    event.preventDefault();
    if (form.dataset.busy) return;  // a scanner's second Enter while the first is answered
    form.dataset.busy = "1";
    send(form).finally(() => { delete form.dataset.busy; });
  });

  document.addEventListener("DOMContentLoaded", enhance);
})();
