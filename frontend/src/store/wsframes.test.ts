import { describe, expect, it } from "vitest";
import {
  decodeText, encodeFrame, FrameReader, HandshakeError, handshakeRequest, OP_PING, OP_TEXT,
} from "./wsframes";

const enc = new TextEncoder();

/** A server's (unmasked) frame. */
function serverFrame(opcode: number, payload: Uint8Array, fin = true): Uint8Array {
  const n = payload.length;
  const head = n < 126 ? [(fin ? 0x80 : 0) | opcode, n]
    : n < 65536 ? [(fin ? 0x80 : 0) | opcode, 126, n >> 8, n & 0xff]
      : [(fin ? 0x80 : 0) | opcode, 127, 0, 0, 0, 0, (n >>> 24) & 0xff, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];
  const out = new Uint8Array(head.length + n);
  out.set(head, 0);
  out.set(payload, head.length);
  return out;
}

const OK = enc.encode("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n");

describe("wsframes", () => {
  it("asks for the upgrade", () => {
    const text = new TextDecoder().decode(handshakeRequest("/ws", "a2V5"));
    expect(text.startsWith("GET /ws HTTP/1.1\r\n")).toBe(true);
    expect(text).toContain("Sec-WebSocket-Key: a2V5\r\n");
    expect(text.endsWith("\r\n\r\n")).toBe(true);
  });

  it("masks client frames of each length form", () => {
    const mask = new Uint8Array([1, 2, 3, 4]);
    for (const n of [0, 5, 125, 126, 300, 65535, 65536, 70000]) {
      const payload = new Uint8Array(n).map((_, i) => i & 0xff);
      const f = encodeFrame(OP_TEXT, payload, mask);
      expect(f[0]).toBe(0x81);
      expect(f[1] & 0x80).toBe(0x80);
      const len7 = f[1] & 0x7f;
      const head = len7 < 126 ? 2 : len7 === 126 ? 4 : 10;
      const got = len7 < 126 ? len7 : len7 === 126 ? (f[2] << 8) | f[3]
        : new DataView(f.buffer).getUint32(6);
      expect(got).toBe(n);
      const body = f.subarray(head + 4).map((x, i) => x ^ mask[i & 3]);
      expect(Array.from(body)).toEqual(Array.from(payload));
    }
  });

  it("reads the 101, then frames split anywhere, in order", () => {
    const big = "x".repeat(70000);
    const stream = new Uint8Array([
      ...OK, ...serverFrame(OP_TEXT, enc.encode('{"a":1}')),
      ...serverFrame(OP_PING, enc.encode("hb")), ...serverFrame(OP_TEXT, enc.encode(big)),
      ...serverFrame(OP_TEXT, enc.encode("he"), false), ...serverFrame(0, enc.encode("llo")),
    ]);
    for (const step of [101, 4096, stream.length]) {
      const r = new FrameReader();
      let opened = 0;
      const msgs: string[] = [];
      for (let i = 0; i < stream.length; i += step) {
        const got = r.feed(stream.subarray(i, i + step));
        if (got.opened) opened++;
        for (const m of got.messages) msgs.push(`${m.opcode}:${decodeText(m.payload).slice(0, 10)}`);
      }
      expect(opened).toBe(1);
      expect(msgs).toEqual(['1:{"a":1}', "9:hb", "1:xxxxxxxxxx", "1:hello"]);
    }
  });

  it("refuses a handshake that is not a 101", () => {
    const r = new FrameReader();
    expect(() => r.feed(enc.encode("HTTP/1.1 403 Forbidden\r\n\r\nforeign origin\n"))).toThrow(HandshakeError);
  });
});
