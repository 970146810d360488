// Package par splits index ranges between goroutines for the sidecar's
// deterministic kernels. Callers must compute each index independently of
// the split; results then do not depend on GOMAXPROCS.
package par

import (
	"runtime"
	"sync"
)

// Range runs fn over [0, n) in contiguous chunks, one per goroutine, using
// at most GOMAXPROCS goroutines and at least grain indices per goroutine.
func Range(n, grain int, fn func(lo, hi int)) {
	workers := min(runtime.GOMAXPROCS(0), n/max(grain, 1))
	if workers <= 1 {
		fn(0, n)
		return
	}
	var wg sync.WaitGroup
	chunk := (n + workers - 1) / workers
	for lo := 0; lo < n; lo += chunk {
		hi := min(lo+chunk, n)
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(lo, hi)
		}()
	}
	wg.Wait()
}
