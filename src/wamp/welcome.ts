// The WELCOME frame, `[0,"<sessionId>",1,"<ident>"]`. Oro's PHP client finds it between the first
// '[' and the first ']' of everything it read after the 101, so the frame's one-byte payload
// length must be neither 0x5B '[' (91) nor 0x5D ']' (93): a space after a comma (still JSON)
// moves it off those values.
import { encodeWelcome } from './codec.js'
import { textFrame } from './frame.js'

export function welcomeText (sessionId: string, ident: string): string {
  let text = encodeWelcome(sessionId, ident)
  while (Buffer.byteLength(text) === 91 || Buffer.byteLength(text) === 93) text = text.replace(/,(?! )/, ', ')
  return text
}

export function welcomeFrame (sessionId: string, ident: string): Buffer {
  return textFrame(welcomeText(sessionId, ident))
}
