// Go: net/http's client in CONCURRENCY goroutines.
// Usage: go_fetch URL_PREFIX URLS CONCURRENCY reuse|new   (prints the wall time, s)
package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	prefix := os.Args[1]
	urls, _ := strconv.Atoi(os.Args[2])
	concurrency, _ := strconv.Atoi(os.Args[3])
	reuse := os.Args[4] == "reuse"
	transport := &http.Transport{MaxIdleConns: concurrency, MaxIdleConnsPerHost: concurrency, DisableKeepAlives: !reuse}
	client := &http.Client{Transport: transport}
	var next, failed int64 = -1, 0
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := atomic.AddInt64(&next, 1)
				if i >= int64(urls) {
					return
				}
				resp, err := client.Get(prefix + strconv.FormatInt(i, 10))
				if err != nil {
					atomic.AddInt64(&failed, 1)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}()
	}
	wg.Wait()
	fmt.Printf("%.3f\n", time.Since(start).Seconds())
	if failed > 0 {
		fmt.Fprintf(os.Stderr, "go_fetch: %d failed\n", failed)
		os.Exit(1)
	}
}
