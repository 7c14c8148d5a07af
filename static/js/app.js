// Small behaviours without inline handlers (the Content-Security-Policy allows scripts from 'self' only).
document.addEventListener("change", (event) => {
  const el = event.target;
  if (el.matches && el.matches("[data-autosubmit]") && el.form) el.form.requestSubmit();
});
document.addEventListener("submit", (event) => {
  const form = event.target;
  const question = form.getAttribute && form.getAttribute("data-confirm");
  if (question && !form.hasAttribute("hx-post") && !window.confirm(question)) event.preventDefault();
});
