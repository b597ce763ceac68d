// Who a WebSocket session is, as its ticket proved it: anonymous (the PHP backend, a visitor) or a
// user of Oro's database. One type from the ticket check to the session, frozen so no holder can
// change what another one sees.

export type Identity =
  | { readonly anonymous: true, readonly username: '' }
  | { readonly anonymous: false, readonly userId: number, readonly username: string }

export const ANONYMOUS: Identity = Object.freeze({ anonymous: true, username: '' })

export function userIdentity (userId: number, username: string): Identity {
  return Object.freeze({ anonymous: false, userId, username })
}
