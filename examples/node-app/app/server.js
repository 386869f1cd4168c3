// A plain Node.js app, the kind usually run with `pm2 start server.js`.
// madang passes HOST and PORT; the app must listen on them.
const http = require('http');
const host = process.env.HOST || '127.0.0.1';
const port = Number(process.env.PORT || 3000);
const id = process.env.INSTANCE_ID || 'local';
const server = http.createServer((req, res) => {
  if (req.url === '/health') { res.end('ok\n'); return; }
  res.setHeader('content-type', 'text/plain');
  res.end(`hello from node on ${id}\n`);
});
server.listen(port, host, () => console.log(`listening on ${host}:${port}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
