// The same workload in Go: half the goroutines asleep, half blocked on a channel.
//   go run million.go [COUNT]
package main

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
)

func rssKiB() int64 {
	f, _ := os.Open("/proc/self/status")
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if strings.HasPrefix(s.Text(), "VmRSS:") {
			v, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(s.Text(), "VmRSS:"), "kB")), 10, 64)
			return v
		}
	}
	return -1
}

func main() {
	runtime.GOMAXPROCS(1)
	count := 1000000
	if len(os.Args) > 1 {
		count, _ = strconv.Atoi(os.Args[1])
	}
	release := make(chan struct{})
	var started sync.WaitGroup
	started.Add(count)
	before := rssKiB()
	start := time.Now()
	for i := 0; i < count; i++ {
		if i%2 == 0 {
			go func() { started.Done(); time.Sleep(time.Hour) }()
		} else {
			go func() { started.Done(); <-release }()
		}
	}
	started.Wait()
	runtime.Gosched()
	elapsed := time.Since(start).Seconds()
	after := rssKiB()
	fmt.Printf("Go: %d goroutines blocked in %.2f s, %.2f KiB RSS each\n", count, elapsed, float64(after-before)/float64(count))
}
