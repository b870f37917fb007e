// Product page: each variant's availability, live. A push on the stock channel
// (stock:{store}:{sku}, one location's figure) asks the public availability API for the total.
import { connect } from "./live.js";

const product = document.getElementById("product");
const cells = [...document.querySelectorAll(".availability[data-sku]")];
if (product && cells.length) {
  const storeId = product.dataset.storeId;
  const store = location.pathname.split("/")[2];
  const show = (sku, available) => {
    for (const cell of cells.filter((c) => c.dataset.sku === sku)) {
      cell.textContent = available > 0 ? `In stock (${available})` : "Out of stock";
      cell.classList.toggle("error", available <= 0);
      cell.classList.toggle("muted", available > 0);
    }
  };
  const refresh = async (sku) => {
    try {
      const answer = await fetch(`/v1/stores/${store}/inventory/${encodeURIComponent(sku)}/availability`);
      if (answer.ok) show(sku, (await answer.json()).available);
    } catch (_) { /* offline: keep what is shown */ }
  };
  connect(`/s/${store}/live`, (socket) => {
    let id = 1;
    for (const cell of cells) {
      socket.send(JSON.stringify({ type: "subscribe", id: id++, channel: `stock:${storeId}:${cell.dataset.sku}` }));
      refresh(cell.dataset.sku); // what changed while the page was not connected
    }
  }, (frame) => {
    if (frame.type === "event" && frame.event === "stock.changed" && frame.data && frame.data.sku) {
      refresh(frame.data.sku);
    }
  });
}

// Product page: a thumbnail shows its picture in the large frame (without script, its link
// opens the large picture).
const frame = document.getElementById("gallery-image");
const frameWebp = document.getElementById("gallery-webp");
for (const link of document.querySelectorAll(".thumbnails a[data-webp]")) {
  link.addEventListener("click", (event) => {
    if (!frame || !frameWebp) return;
    event.preventDefault();
    frameWebp.srcset = link.dataset.webp;
    frame.src = link.href;
    frame.alt = link.dataset.alt;
  });
}
