package aggregate

import (
	"fmt"
	"os"
	"strconv"
	"testing"
)

// BenchmarkAggregate reads 16 updates of COHORT_AGG_PARAMS parameters
// (default 1M; the figure is 10M) with each rule, next to a plain
// copy of the same bytes: compare each rule's MB/s with the copy's in one
// run (`make bench-aggregate`). Rules write into a reused output buffer;
// "alloc" is what a fresh output costs instead.
func BenchmarkAggregate(b *testing.B) {
	d := 1_000_000
	if s := os.Getenv("COHORT_AGG_PARAMS"); s != "" {
		if v, err := strconv.Atoi(s); err == nil && v > 0 {
			d = v
		}
	}
	ups := make([]Update, 16)
	for i := range ups {
		v := make([]float32, d)
		for j := range v {
			v[j] = float32((i*31+j*7)%1000) / 1000
		}
		ups[i] = Update{Vector: v, Samples: 10 + i}
	}
	bytes := int64(16 * d * 4)
	// Two baselines: the runtime's memmove (copy), and a plain loop that
	// reads and stores one float32 at a time.
	b.Run("copy-loop", func(b *testing.B) {
		dst := make([]float32, d)
		b.SetBytes(bytes)
		for i := 0; i < b.N; i++ {
			for _, u := range ups {
				src := u.Vector[:len(dst)]
				for j := range dst {
					dst[j] = src[j]
				}
			}
		}
	})
	b.Run("copy", func(b *testing.B) {
		dst := make([]float32, d)
		b.SetBytes(bytes)
		for i := 0; i < b.N; i++ {
			for _, u := range ups {
				copy(dst, u.Vector)
			}
		}
	})
	b.Run("alloc", func(b *testing.B) {
		b.SetBytes(bytes)
		for i := 0; i < b.N; i++ {
			out := make([]float32, d)
			for j := 0; j < d; j += 1024 { // touch every page
				out[j] = 1
			}
		}
	})
	for _, r := range []Rule{FedAvg{}, Median{}, TrimmedMean{Beta: 0.1}, Krum{F: 3}, GeometricMedian{Iterations: 5}, CenteredClipping{Tau: 1, Iterations: 1}, Bulyan{F: 3}} {
		b.Run(fmt.Sprint(r.Name()), func(b *testing.B) {
			dst := make([]float32, d) // reused round after round, as a validator does
			b.SetBytes(bytes)
			for i := 0; i < b.N; i++ {
				if _, err := r.Aggregate(dst, ups); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
