#!/usr/bin/env node
// WebSocket echo load: N connections, each with exactly one message in flight, for a fixed time.
//
//   node echo.js --url ws://127.0.0.1:8000/ws [--connections 64] [--duration 8] [--size 32]
//
// Opens every connection first, then starts the clock: each connection sends a binary message of
// --size bytes, waits for its echo, checks it byte for byte, and sends the next one until the
// duration is over. Prints one JSON line: messages echoed within the duration, messages/s, the
// p50/p99 round trip in ms and the error count (failed handshakes, unexpected closes, socket
// errors, wrong echoes). Exits 1 when not every connection could be opened or nothing was echoed.
// `ws` is resolved through NODE_PATH (the harness installs it under benchmarks/.venvs/node).
'use strict';

const WebSocket = require('ws');

function parseArgs(argv) {
  const opts = { url: null, connections: 64, duration: 8, size: 32 };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '');
    const value = argv[i + 1];
    if (!(key in opts) || value === undefined) {
      throw new Error(`unknown or incomplete option ${argv[i]}`);
    }
    opts[key] = key === 'url' ? value : Number(value);
  }
  if (!opts.url) throw new Error('--url is required');
  return opts;
}

const opts = parseArgs(process.argv.slice(2));
const errors = [];
let echoed = 0;
const SEND_OPTIONS = { binary: true };
// Round trips in milliseconds (performance.now(), cheaper than BigInt hrtime on every message),
// grown by doubling: a few million at most per run.
let rtts = new Float64Array(1 << 16);
let started = 0;
let deadline = 0;
let finished = false;
let cpuAtStart = null;

function noteError(text) {
  if (errors.length < 1000) errors.push(text);
}

function recordRtt(ms) {
  if (echoed === rtts.length) {
    const bigger = new Float64Array(rtts.length * 2);
    bigger.set(rtts);
    rtts = bigger;
  }
  rtts[echoed++] = ms;
}

class Client {
  constructor(index) {
    this.index = index;
    this.counter = 0;
    // One payload per connection, its first 4 bytes a counter, so an echo of an older message
    // cannot pass for the current one. ws copies it into the masked frame inside send().
    this.payload = Buffer.alloc(opts.size, 0x61 + (index % 26));
    this.waiting = false;
    this.sentAt = 0;
    this.done = false;
    // No permessage-deflate: every server gets plain frames (uvicorn's websockets would accept it).
    this.ws = new WebSocket(opts.url, { perMessageDeflate: false });
    this.ws.binaryType = 'nodebuffer';
    this.opened = new Promise((resolve) => {
      this.ws.once('open', () => resolve(true));
      this.ws.once('unexpected-response', (_req, res) => {
        noteError(`connection ${index}: handshake answered ${res.statusCode}`);
        resolve(false);
      });
      this.ws.once('error', () => resolve(false));
      this.ws.once('close', () => resolve(false));
    });
    this.ws.on('message', (data, isBinary) => this.onMessage(data, isBinary));
    this.ws.on('error', (err) => {
      if (!this.done) noteError(`connection ${index}: ${err.message}`);
    });
    this.ws.on('close', (code) => {
      if (!this.done) noteError(`connection ${index}: closed by the server (code ${code})`);
      this.done = true;
    });
  }

  send() {
    this.payload.writeUInt32BE(this.counter++ >>> 0, 0);
    this.waiting = true;
    this.sentAt = performance.now();
    this.ws.send(this.payload, SEND_OPTIONS);
  }

  onMessage(data, isBinary) {
    const now = performance.now();
    if (!this.waiting) {
      noteError(`connection ${this.index}: a message nobody asked for`);
      return;
    }
    if (!isBinary || !data.equals(this.payload)) {
      noteError(`connection ${this.index}: echo differs from the message sent`);
    } else if (now <= deadline) {
      recordRtt(now - this.sentAt);
    }
    this.waiting = false;
    if (now < deadline && !finished) {
      this.send();
    } else {
      this.finish();
    }
  }

  finish() {
    if (this.done) return;
    this.done = true;
    if (this.ws.readyState === WebSocket.OPEN) this.ws.close(1000);
    else this.ws.terminate();
  }
}

function percentile(sorted, q) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))];
}

function report(opened) {
  const sorted = rtts.subarray(0, echoed).sort();
  const seconds = (deadline - started) / 1000;
  const cpu = cpuAtStart === null ? null : process.cpuUsage(cpuAtStart);
  const wall = (performance.now() - started) / 1000;
  const result = {
    connections: opts.connections,
    opened,
    size: opts.size,
    seconds,
    messages: echoed,
    rate: seconds > 0 ? echoed / seconds : 0,
    p50_ms: percentile(sorted, 0.5),
    p99_ms: percentile(sorted, 0.99),
    // CPU time of this process over the measured time: near 1 means the client, not the
    // server, set the pace.
    client_cpu: cpu && wall > 0 ? (cpu.user + cpu.system) / 1e6 / wall : null,
    errors: errors.length,
    first_errors: errors.slice(0, 5),
  };
  process.stdout.write(JSON.stringify(result) + '\n');
  return result;
}

async function main() {
  const clients = [];
  for (let i = 0; i < opts.connections; i++) clients.push(new Client(i));
  const opened = (await Promise.all(clients.map((c) => c.opened))).filter(Boolean).length;
  if (opened < opts.connections) {
    for (const c of clients) c.finish();
    report(opened);
    process.exit(1);
  }
  cpuAtStart = process.cpuUsage();
  started = performance.now();
  deadline = started + opts.duration * 1000;
  for (const c of clients) c.send();
  await new Promise((resolve) => setTimeout(resolve, opts.duration * 1000));
  // Each connection ends at its first echo after the deadline; one that never gets it means the
  // server stopped answering: give up on it 5 s later.
  await new Promise((resolve) => {
    const poll = setInterval(() => {
      if (clients.every((c) => c.done) || performance.now() > deadline + 5000) {
        clearInterval(poll);
        resolve();
      }
    }, 10);
  });
  finished = true;
  for (const c of clients) {
    if (!c.done) noteError(`connection ${c.index}: no echo within 5 s of the end`);
    c.finish();
  }
  const result = report(opened);
  // Closing handshakes in flight do not matter for the numbers.
  setTimeout(() => process.exit(result.messages > 0 ? 0 : 1), 200);
}

main().catch((err) => {
  process.stderr.write(`${err.stack || err}\n`);
  process.exit(1);
});
