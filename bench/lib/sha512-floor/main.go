// The floor for an Oro ticket's digest: the same 5,000 rounds of SHA-512 (d = sha512(salted), then
// d = sha512(d + salted) 4,999 times) in Go, whose crypto/sha512 is assembly, with one reused
// state and buffer. Prints {"tickets": N, "msPerTicket": x} for N tickets on one core.
package main

import (
	"crypto/sha512"
	"fmt"
	"os"
	"strconv"
	"time"
)

func main() {
	n := 200
	if len(os.Args) > 1 {
		n, _ = strconv.Atoi(os.Args[1])
	}
	secret := "bench-oro-secret"
	h := sha512.New()
	var d []byte
	sink := byte(0)
	start := time.Now()
	for i := 0; i < n; i++ {
		salted := []byte(fmt.Sprintf("%016x|2026-01-01T10:00:00+00:00|%s{%s}", i, secret, secret))
		h.Reset()
		h.Write(salted)
		d = h.Sum(d[:0])
		for r := 1; r < 5000; r++ {
			h.Reset()
			h.Write(d)
			h.Write(salted)
			d = h.Sum(d[:0])
		}
		sink ^= d[0]
	}
	elapsed := time.Since(start)
	fmt.Printf("{\"tickets\":%d,\"msPerTicket\":%.3f,\"sink\":%d}\n", n, float64(elapsed.Microseconds())/1000/float64(n), sink)
}
