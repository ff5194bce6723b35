// Small progressive enhancements; every page works without this file.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  // A keyboard-wedge scanner types fast and presses Enter: keep the autofocus field focused
  // after a flash message or a failed scan re-renders the page.
  const focus = document.querySelector("[autofocus]");
  if (focus && document.activeElement === document.body) focus.focus();
  // Live clocks: <time data-since="ISO" data-until="ISO"> shows time since filling and to expiry.
  const clocks = document.querySelectorAll("time[data-since]");
  if (clocks.length) {
    const pad = (n) => String(n).padStart(2, "0");
    const fmt = (ms) => {
      const s = Math.max(0, Math.floor(Math.abs(ms) / 1000));
      return `${Math.floor(s / 3600)}:${pad(Math.floor((s % 3600) / 60))}:${pad(s % 60)}`;
    };
    const tick = () => clocks.forEach((el) => {
      const now = Date.now();
      const since = Date.parse(el.dataset.since);
      let text = fmt(now - since);
      if (el.dataset.until) {
        const left = Date.parse(el.dataset.until) - now;
        text += left > 0 ? ` (${fmt(left)} ${el.dataset.leftLabel || "left"})`
                         : ` (${el.dataset.expiredLabel || "EXPIRED"})`;
        el.classList.toggle("expired", left <= 0);
      }
      el.textContent = text;
    });
    tick();
    setInterval(tick, 1000);
  }
});
