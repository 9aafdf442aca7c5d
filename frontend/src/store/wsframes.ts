/**
 * A small RFC 6455 client over a raw byte stream: the opening handshake, masked client
 * frames out, server frames in. Inside Cockpit the page speaks the bridge's websocket
 * protocol over a Cockpit `stream` channel to the bridge's unix socket, because Cockpit
 * 287's `websocket-stream1` cannot reach a unix socket (its URL, ws:///run/..., has no
 * host and is refused). Pure functions and one parser class, tested in wsframes.test.ts.
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export const OP_CONT = 0x0;
export const OP_TEXT = 0x1;
export const OP_BINARY = 0x2;
export const OP_CLOSE = 0x8;
export const OP_PING = 0x9;
export const OP_PONG = 0xa;

export function handshakeRequest(path: string, key: string): Uint8Array {
  return encoder.encode(
    `GET ${path} HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
}

/** 16 random bytes, base64: the Sec-WebSocket-Key. */
export function randomKey(): string {
  const raw = new Uint8Array(16);
  crypto.getRandomValues(raw);
  return btoa(String.fromCharCode(...raw));
}

/** A masked client frame (FIN set). */
export function encodeFrame(opcode: number, payload: Uint8Array,
                            mask: Uint8Array = randomMask()): Uint8Array {
  const n = payload.length;
  const head = n < 126 ? 2 : n < 65536 ? 4 : 10;
  const out = new Uint8Array(head + 4 + n);
  out[0] = 0x80 | opcode;
  if (n < 126) {
    out[1] = 0x80 | n;
  } else if (n < 65536) {
    out[1] = 0x80 | 126;
    out[2] = n >>> 8;
    out[3] = n & 0xff;
  } else {
    out[1] = 0x80 | 127;
    // Lengths below 2^53: the high 32 bits, then the low 32 bits.
    const high = Math.floor(n / 2 ** 32);
    new DataView(out.buffer).setUint32(2, high);
    new DataView(out.buffer).setUint32(6, n >>> 0);
  }
  out.set(mask, head);
  for (let i = 0; i < n; i++) out[head + 4 + i] = payload[i] ^ mask[i & 3];
  return out;
}

export function textFrame(text: string): Uint8Array {
  return encodeFrame(OP_TEXT, encoder.encode(text));
}

function randomMask(): Uint8Array {
  const mask = new Uint8Array(4);
  crypto.getRandomValues(mask);
  return mask;
}

export interface Frame {
  opcode: number;
  payload: Uint8Array;
}

export class HandshakeError extends Error {}

/**
 * Reads the server's side: first the HTTP response to the handshake (which must be
 * 101), then frames. Feed it chunks as they arrive; it returns what became complete.
 */
export class FrameReader {
  private buf: Uint8Array = new Uint8Array(0);
  private upgraded = false;
  private fragments: Uint8Array[] = [];
  private fragmentOp = 0;

  feed(chunk: Uint8Array): { opened: boolean; messages: Frame[] } {
    this.buf = concat(this.buf, chunk);
    let opened = false;
    if (!this.upgraded) {
      const end = indexOfCrlfCrlf(this.buf);
      if (end < 0) return { opened, messages: [] };
      const head = decoder.decode(this.buf.subarray(0, end));
      const status = head.split("\r\n", 1)[0];
      if (!/^HTTP\/1\.[01] 101 /.test(status)) throw new HandshakeError(status);
      this.buf = this.buf.subarray(end + 4);
      this.upgraded = true;
      opened = true;
    }
    const messages: Frame[] = [];
    for (;;) {
      const frame = this.next();
      if (frame === null) break;
      if (frame.opcode === OP_CONT || (!frame.fin && frame.opcode < OP_CLOSE)) {
        if (frame.opcode !== OP_CONT) this.fragmentOp = frame.opcode;
        this.fragments.push(frame.payload);
        if (!frame.fin) continue;
        messages.push({ opcode: this.fragmentOp, payload: this.fragments.reduce(concat) });
        this.fragments = [];
        continue;
      }
      messages.push({ opcode: frame.opcode, payload: frame.payload });
    }
    return { opened, messages };
  }

  private next(): (Frame & { fin: boolean }) | null {
    const b = this.buf;
    if (b.length < 2) return null;
    const fin = (b[0] & 0x80) !== 0;
    const opcode = b[0] & 0x0f;
    const masked = (b[1] & 0x80) !== 0;
    let n = b[1] & 0x7f;
    let pos = 2;
    if (n === 126) {
      if (b.length < 4) return null;
      n = (b[2] << 8) | b[3];
      pos = 4;
    } else if (n === 127) {
      if (b.length < 10) return null;
      const view = new DataView(b.buffer, b.byteOffset + 2, 8);
      n = view.getUint32(0) * 2 ** 32 + view.getUint32(4);
      pos = 10;
    }
    const maskAt = pos;
    if (masked) pos += 4;
    if (b.length < pos + n) return null;
    let payload = b.slice(pos, pos + n);
    if (masked) {
      const mask = b.subarray(maskAt, maskAt + 4);
      payload = payload.map((x, i) => x ^ mask[i & 3]);
    }
    this.buf = b.subarray(pos + n);
    return { fin, opcode, payload };
  }
}

export function decodeText(payload: Uint8Array): string {
  return decoder.decode(payload);
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  if (b.length === 0) return a;
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

function indexOfCrlfCrlf(b: Uint8Array): number {
  for (let i = 0; i + 3 < b.length; i++) {
    if (b[i] === 13 && b[i + 1] === 10 && b[i + 2] === 13 && b[i + 3] === 10) return i;
  }
  return -1;
}
