// A small server on the Centrifuge library (Go), the best peer a Go user would pick: anonymous
// connect, subscribe to any channel, and an HTTP publish endpoint that takes the gateway's body
// ({"topic": ..., "data": ...}) and answers 202. Built by bench/lib/go-build.mjs from Debian's
// golang-github-centrifugal-centrifuge-dev sources (GO111MODULE=off), listening on $PORT.
package main

import (
	"context"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"os"

	"github.com/centrifugal/centrifuge"
)

type publication struct {
	Topic string          `json:"topic"`
	Data  json.RawMessage `json:"data"`
}

func main() {
	cfg := centrifuge.DefaultConfig
	node, err := centrifuge.New(cfg)
	if err != nil {
		log.Fatal(err)
	}
	node.OnConnecting(func(ctx context.Context, e centrifuge.ConnectEvent) (centrifuge.ConnectReply, error) {
		return centrifuge.ConnectReply{Credentials: &centrifuge.Credentials{UserID: ""}}, nil
	})
	node.OnConnect(func(client *centrifuge.Client) {
		client.OnSubscribe(func(e centrifuge.SubscribeEvent, cb centrifuge.SubscribeCallback) {
			cb(centrifuge.SubscribeReply{}, nil)
		})
	})
	if err := node.Run(); err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/connection/websocket", centrifuge.NewWebsocketHandler(node, centrifuge.WebsocketConfig{}))
	mux.HandleFunc("/publish", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		var p publication
		if err == nil {
			err = json.Unmarshal(body, &p)
		}
		if err != nil || p.Topic == "" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		if _, err := node.Publish(p.Topic, p.Data); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		_, _ = w.Write([]byte(`{"published":1}`))
	})
	log.Fatal(http.ListenAndServe("127.0.0.1:"+os.Getenv("PORT"), mux))
}
