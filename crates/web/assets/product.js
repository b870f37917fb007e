// Product page: each variant's availability, live from the stock channel (stock:{store}:{sku}).
import { connect } from "./live.js";

const product = document.getElementById("product");
const cells = [...document.querySelectorAll(".availability[data-sku]")];
if (product && cells.length) {
  const storeId = product.dataset.storeId;
  const store = location.pathname.split("/")[2];
  const totals = new Map();
  const show = (sku) => {
    const byLocation = totals.get(sku);
    if (!byLocation) return;
    const available = [...byLocation.values()].reduce((a, b) => a + b, 0);
    for (const cell of cells.filter((c) => c.dataset.sku === sku)) {
      cell.textContent = available > 0 ? `In stock (${available})` : "Out of stock";
      cell.classList.toggle("error", available <= 0);
    }
  };
  connect(`/s/${store}/live`, (socket) => {
    let id = 1;
    for (const cell of cells) {
      socket.send(JSON.stringify({ type: "subscribe", id: id++, channel: `stock:${storeId}:${cell.dataset.sku}` }));
    }
  }, (frame) => {
    if (frame.type !== "event" || frame.event !== "stock.changed" || !frame.data) return;
    const { sku, location: where, available } = frame.data;
    if (!totals.has(sku)) totals.set(sku, new Map());
    totals.get(sku).set(where || "default", Number(available) || 0);
    show(sku);
  });
}
