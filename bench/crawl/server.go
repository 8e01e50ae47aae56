// The crawl benchmark's server: every request is answered after 50 ms with 10 KB.
// Usage: server PORT
package main

import (
	"net/http"
	"os"
	"strings"
	"time"
)

func main() {
	body := []byte(strings.Repeat("x", 10*1024))
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(50 * time.Millisecond)
		w.Header().Set("Content-Type", "text/plain")
		w.Write(body)
	})
	s := &http.Server{Addr: "127.0.0.1:" + os.Args[1]}
	s.SetKeepAlivesEnabled(true)
	if err := s.ListenAndServe(); err != nil {
		panic(err)
	}
}
