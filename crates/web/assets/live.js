// Live parts of the pages: one WebSocket to this site's /live endpoint (the realtime protocol,
// docs/realtime-protocol.md), reconnecting with back-off. Pages opt in with data- attributes.
export function connect(path, onOpen, onMessage) {
  let delay = 500;
  let socket;
  const open = () => {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    socket = new WebSocket(`${scheme}//${location.host}${path}`, "mercato.v1");
    socket.addEventListener("open", () => {
      // The server greets the connection as the page's session (the /live endpoint turned the
      // cookie into a bearer header); no token ever reaches this script.
      delay = 500;
      onOpen(socket);
    });
    socket.addEventListener("message", (event) => {
      let frame;
      try { frame = JSON.parse(event.data); } catch (_) { return; /* not ours */ }
      // Tests (and curious people) can tell when the page listens: <body data-live="subscribed">.
      if (frame.type === "subscribed") document.body.dataset.live = "subscribed";
      onMessage(frame, socket);
    });
    socket.addEventListener("close", () => { delete document.body.dataset.live; });
    socket.addEventListener("close", () => {
      setTimeout(open, delay);
      delay = Math.min(delay * 2, 15000);
    });
  };
  open();
  return () => socket;
}
