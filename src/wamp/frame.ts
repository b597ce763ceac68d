// Server-to-client WebSocket frames (RFC 6455, unmasked), built once and written as they are to
// every socket that should get them: fan-out costs one allocation per event, not per subscriber.

/** One final text frame holding `text`. */
export function textFrame (text: string): Buffer {
  const length = Buffer.byteLength(text)
  const header = length < 126 ? 2 : length < 65536 ? 4 : 10
  const frame = Buffer.allocUnsafe(header + length)
  frame[0] = 0x81 // FIN + text
  if (header === 2) {
    frame[1] = length
  } else if (header === 4) {
    frame[1] = 126
    frame.writeUInt16BE(length, 2)
  } else {
    frame[1] = 127
    frame.writeUInt32BE(Math.floor(length / 0x100000000), 2)
    frame.writeUInt32BE(length >>> 0, 6)
  }
  frame.write(text, header, 'utf8')
  return frame
}

/** An empty ping (FIN + ping, no payload). */
export const PING_FRAME: Buffer = Buffer.from([0x89, 0x00])
