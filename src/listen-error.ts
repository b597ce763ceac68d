// Why a listener could not open, told by what the system said: a port in use is not a host that
// does not exist, nor an address this machine does not have. Each says what to change.

export function describeListenError (code: string | undefined, message: string, host: string, port: number): string {
  switch (code) {
    case 'EADDRINUSE':
      return `port ${port} is already in use (EADDRINUSE); stop the other process (is Oro's own gos:websocket:server still running?) or change the port in ORO_WEBSOCKET_SERVER_DSN (or --port)`
    case 'EACCES':
      return `permission denied (EACCES): ports below 1024 need privileges; use a port above 1023 behind nginx, or change ORO_WEBSOCKET_SERVER_DSN (or --port)`
    case 'EADDRNOTAVAIL':
      return `${host} is not an address of this machine (EADDRNOTAVAIL); listen on one of its addresses, or on 0.0.0.0 for all, in ORO_WEBSOCKET_SERVER_DSN (or --host)`
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_NONAME':
      return `the host name ${host} cannot be resolved (${code}); use an IP address or a name this machine resolves, in ORO_WEBSOCKET_SERVER_DSN (or --host)`
    case 'EAFNOSUPPORT':
      return `the address family of ${host} is not supported here (EAFNOSUPPORT), e.g. IPv6 is turned off; use an IPv4 address in ORO_WEBSOCKET_SERVER_DSN (or --host)`
    default:
      return `${code ?? message}; check the host and port in ORO_WEBSOCKET_SERVER_DSN (or --host/--port)`
  }
}
