// kassa's live pages: an element with data-live-source follows that Server-Sent Events stream.
// "changed": fetch this page again and swap the element's content (no reload, focus kept);
// "go": move to the URL given. Forms with data-confirm ask first.
"use strict";
for (const region of document.querySelectorAll("[data-live-source]")) {
  const source = new EventSource(region.dataset.liveSource);
  source.addEventListener("changed", async () => {
    const response = await fetch(location.href, { headers: { Accept: "text/html" } });
    if (!response.ok) return;
    const page = new DOMParser().parseFromString(await response.text(), "text/html");
    const fresh = page.getElementById(region.id);
    if (fresh) region.innerHTML = fresh.innerHTML;
  });
  source.addEventListener("go", (event) => {
    source.close();
    location.assign(event.data);
  });
}
document.addEventListener("submit", (event) => {
  const question = event.target.dataset.confirm;
  if (question && !confirm(question)) event.preventDefault();
});
