// The floor for an Oro ticket's digest: the same 5,000 rounds of SHA-512 (d = sha512(salted), then
// d = sha512(d + salted) 4,999 times) in Go, whose crypto/sha512 is assembly, with one reused
// state and buffer. Prints {"tickets": N, "msPerTicket": x} for N tickets on one core.
// With "tickets SECRET" it is the storm's ticket maker instead: for each stdin line
// "username<TAB>password" (both empty: anonymous) it prints one fresh Oro ticket.
package main

import (
	"bufio"
	"crypto/rand"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

func makeTickets(secret string) {
	in := bufio.NewScanner(os.Stdin)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	h := sha512.New()
	var d []byte
	raw := make([]byte, 8)
	for in.Scan() {
		parts := strings.SplitN(in.Text(), "\t", 2)
		username, password := parts[0], secret
		if len(parts) == 2 && parts[1] != "" {
			password = parts[1]
		}
		_, _ = rand.Read(raw)
		nonce := hex.EncodeToString(raw)
		created := time.Now().UTC().Format("2006-01-02T15:04:05") + "+00:00"
		salted := []byte(nonce + "|" + created + "|" + password + "{" + secret + "}")
		h.Reset()
		h.Write(salted)
		d = h.Sum(d[:0])
		for r := 1; r < 5000; r++ {
			h.Reset()
			h.Write(d)
			h.Write(salted)
			d = h.Sum(d[:0])
		}
		plain := base64.StdEncoding.EncodeToString(d) + ";" + username + ";" + nonce + ";" + created
		fmt.Fprintln(out, base64.StdEncoding.EncodeToString([]byte(plain)))
	}
}

func main() {
	if len(os.Args) > 2 && os.Args[1] == "tickets" {
		makeTickets(os.Args[2])
		return
	}
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
