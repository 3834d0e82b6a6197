// Connect to PaperDesk's Socket.IO server with an access token and ask who we are.
//
//   node connect.js [URL]            (token from PAPERDESK_TOKEN)
//
// Exits 0 when connected, 2 when the server refuses the connection, 1 when whoami
// fails (without a token: the server answers how to connect, then refuses it).
const { io } = require("socket.io-client");

const url = process.argv[2] || process.env.PAPERDESK_URL || "http://localhost:8000";
const token = process.env.PAPERDESK_TOKEN;

const socket = io(url, {
  auth: token ? { token } : {},
  transports: ["websocket"],
  reconnection: false,
});

socket.on("connect", () => {
  socket.emit("whoami", (ack) => {
    if (!ack.ok) {
      console.error(`whoami failed: ${ack.error.code}: ${ack.error.message}`);
      process.exit(1);
    }
    console.log(`connected as ${ack.user.email}`);
    socket.close();
    process.exit(0);
  });
});

socket.on("connect_error", (err) => {
  const code = err.data && err.data.code ? err.data.code : "connect_error";
  console.error(`refused: ${code}: ${err.message}`);
  process.exit(2);
});
