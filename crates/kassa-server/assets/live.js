// kassa's live pages: an element with data-live-source follows that Server-Sent Events stream.
// "changed": fetch this page again and swap the element's content (no reload, focus kept);
// data "end" means nothing will change after this. "go": move to the URL given. "end": stop.
// Forms with data-confirm ask first.
"use strict";
for (const region of document.querySelectorAll("[data-live-source]")) {
  const source = new EventSource(region.dataset.liveSource);
  source.addEventListener("changed", async (event) => {
    if (event.data === "end") source.close();
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
  source.addEventListener("end", () => source.close());
}
document.addEventListener("submit", (event) => {
  const question = event.target.dataset.confirm;
  if (question && !confirm(question)) event.preventDefault();
});
