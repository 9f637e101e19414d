// A mail sink for the journeys: a minimal SMTP server that keeps what it receives, so a
// journey can follow the link in an invitation as its recipient would.
import { createServer } from 'node:net';

/** Starts the sink on a free port; answers {port, messages, close, waitFor}. */
export async function smtpSink() {
  const messages = [];
  const server = createServer((socket) => {
    let buffer = '';
    let inData = false;
    let current = { to: [], data: '' };
    socket.write('220 sink ESMTP\r\n');
    socket.on('data', (chunk) => {
      buffer += chunk.toString('utf8');
      for (;;) {
        if (inData) {
          const end = buffer.indexOf('\r\n.\r\n');
          if (end < 0) { return; }
          current.data = buffer.slice(0, end);
          buffer = buffer.slice(end + 5);
          messages.push(current);
          current = { to: [], data: '' };
          inData = false;
          socket.write('250 kept\r\n');
          continue;
        }
        const eol = buffer.indexOf('\r\n');
        if (eol < 0) { return; }
        const line = buffer.slice(0, eol);
        buffer = buffer.slice(eol + 2);
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === 'EHLO' || verb === 'HELO') { socket.write('250 sink\r\n'); } else if (verb === 'RCPT') {
          current.to.push(line.replace(/^RCPT TO:\s*<?([^>]*)>?.*$/i, '$1'));
          socket.write('250 ok\r\n');
        } else if (verb === 'DATA') { inData = true; socket.write('354 go on\r\n'); } else if (verb === 'QUIT') {
          socket.end('221 bye\r\n');
        } else { socket.write('250 ok\r\n'); }
      }
    });
    socket.on('error', () => {});
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  // Quoted-printable soft breaks and escapes undone, so links read whole.
  // A base64 body is decoded too.
  const text = (m) => {
    const [head, ...rest] = m.data.split('\r\n\r\n');
    const body = rest.join('\r\n\r\n');
    if (/Content-Transfer-Encoding:\s*base64/i.test(head)) {
      return `${head}\r\n\r\n${Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8')}`;
    }
    return m.data.replace(/=\r\n/g, '').replace(/=([0-9A-F]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16)));
  };
  return {
    port: server.address().port,
    messages,
    text,
    close: () => server.close(),
    /** The first message to `to` whose text matches `pattern`, waiting up to `ms`. */
    async waitFor(to, pattern, ms = 30000) {
      const until = Date.now() + ms;
      while (Date.now() < until) {
        const found = messages.find((m) => m.to.includes(to) && pattern.test(text(m)));
        if (found) { return text(found); }
        await new Promise((r) => setTimeout(r, 250));
      }
      throw new Error(`no message to ${to} matching ${pattern} within ${ms} ms`);
    },
  };
}
