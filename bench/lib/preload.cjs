// Loaded into every measured server (node -r): SIGUSR2 runs a full GC, so memory is read after one.
process.on('SIGUSR2', () => { if (typeof globalThis.gc === 'function') globalThis.gc() })
