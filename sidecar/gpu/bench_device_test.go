//go:build cuda || cudaemu

package gpu

import (
	"os"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/cohortchain/cohort/sidecar/aggregate"
	"github.com/cohortchain/cohort/sidecar/engine"
)

// Benchmarks for a GPU host (go test -c -tags cuda; see doc.go). With the
// cudaemu tag they run at toy sizes, which only checks that they work.
//
//	COHORT_GPU_AGG_PARAMS   parameters per update (default 100,000,000;
//	                        reduced to fit the device's free memory)
//	COHORT_GPU_AGG_CLIENTS  updates (default 16)
//	COHORT_GPU_BENCH_CPU    0 skips the CPU baselines (slow at 100M)

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// benchUpdates builds n updates of d values in parallel (the pattern of
// package aggregate's benchmark, plus client-dependent noise so that
// the rules have work to do).
func benchUpdates(n, d int) []aggregate.Update {
	ups := make([]aggregate.Update, n)
	var wg sync.WaitGroup
	for i := range ups {
		ups[i] = aggregate.Update{Vector: make([]float32, d), Samples: 10 + i}
		workers := max(1, runtime.GOMAXPROCS(0)/n)
		chunk := (d + workers - 1) / workers
		for lo := 0; lo < d; lo += chunk {
			wg.Add(1)
			go func(v []float32, lo, hi int) {
				defer wg.Done()
				for j := lo; j < hi; j++ {
					v[j] = float32((i*31+j*7)%1000)/1000 + float32((j*i)%13)*1e-3
				}
			}(ups[i].Vector, lo, min(lo+chunk, d))
		}
	}
	wg.Wait()
	return ups
}

// deviceTimer times work on the compute stream with CUDA events.
type deviceTimer struct {
	b          *devBackend
	start, end eventID
}

func newDeviceTimer(b *devBackend) (*deviceTimer, error) {
	t := &deviceTimer{b: b}
	err := b.locked(func() error {
		var err error
		if t.start, err = b.drv.newEvent(true); err != nil {
			return err
		}
		t.end, err = b.drv.newEvent(true)
		return err
	})
	return t, err
}

// time runs fn (on a bound thread) between two events and returns the
// milliseconds between them.
func (t *deviceTimer) time(fn func() error) (float64, error) {
	var ms float64
	err := t.b.locked(func() error {
		drv := t.b.drv
		if err := drv.record(t.start, t.b.compS); err != nil {
			return err
		}
		if err := fn(); err != nil {
			return err
		}
		if err := drv.record(t.end, t.b.compS); err != nil {
			return err
		}
		if err := drv.syncEvent(t.end); err != nil {
			return err
		}
		var err error
		ms, err = drv.elapsed(t.start, t.end)
		return err
	})
	return ms, err
}

// BenchmarkDeviceAggregate reports, for each rule on updates already in
// device memory, the time of one aggregation and its read rate as a
// fraction of a device-to-device copy of the same bytes measured in the
// same run (of-copy: 1 means as fast as a copy), next to the same rule
// on the CPU (package aggregate, all cores) and on the GPU end to end
// from host memory (transfers included): the speed-ups.
func BenchmarkDeviceAggregate(bm *testing.B) {
	b := openDevice(bm)
	n := envInt("COHORT_GPU_AGG_CLIENTS", 16)
	d := envInt("COHORT_GPU_AGG_PARAMS", 100_000_000)
	if !big {
		d = envInt("COHORT_GPU_AGG_PARAMS", 20_000)
	}
	var free int64
	if err := b.locked(func() error {
		var err error
		free, _, err = b.drv.memInfo()
		return err
	}); err != nil {
		bm.Fatal(err)
	}
	// The staged matrix, a copy of it, v and next, and the end-to-end
	// runs' own staging: about 3.2 matrices; keep a margin.
	if need := int64(n) * int64(d) * 4 * 4; need > free {
		d = int(free / (int64(n) * 4 * 4))
		bm.Logf("device memory: %d parameters per update", d)
	}
	bytes := int64(n) * int64(d) * 4
	bm.Logf("%d updates of %d parameters: %.2f GB", n, d, float64(bytes)/1e9)
	ups := benchUpdates(n, d)
	timer, err := newDeviceTimer(b)
	if err != nil {
		bm.Fatal(err)
	}
	a := &arena{b: b}
	defer b.locked(func() error { a.release(); return nil })
	var v *devVec
	var copyDst, out devPtr
	err = b.locked(func() error {
		var err error
		if v, err = b.stage(a, ups); err != nil {
			return err
		}
		v.keep = true
		if copyDst, err = a.alloc(bytes); err != nil {
			return err
		}
		out, err = a.alloc(int64(d) * 4)
		return err
	})
	if err != nil {
		bm.Fatal(err)
	}
	// The copy: the reference rate.
	copyMS := 1e300
	for range 3 {
		ms, err := timer.time(func() error { return b.drv.d2d(copyDst, v.mat, bytes, b.compS) })
		if err != nil {
			bm.Fatal(err)
		}
		copyMS = min(copyMS, ms)
	}
	bm.Logf("device-to-device copy of %.2f GB: %.2f ms, %.0f GB/s", float64(bytes)/1e9, copyMS, float64(bytes)/copyMS/1e6)

	rows := make([]int, n)
	for i := range rows {
		rows[i] = i
	}
	type rule struct {
		r      aggregate.Rule
		device func() error // the rule on the staged updates
	}
	coord := func(mode, cut, lo, hi int) func() error {
		return func() error {
			net := sortingNetwork(n, lo, hi)
			dnet, err := upload(a, net)
			if err != nil {
				return err
			}
			drows, err := upload(a, int64s(rows))
			if err != nil {
				return err
			}
			flag, err := a.newFlag()
			if err != nil {
				return err
			}
			block := b.sortedBlock(n)
			return b.launchBlock("cohort_sorted", d, block, n*block*4, out, v.mat, d, drows, n, d, dnet, len(net)/2, mode, cut, flag)
		}
	}
	lo, hi := medianRanks(n)
	cut := int(0.1 * float64(n))
	rules := []rule{
		{aggregate.FedAvg{}, func() error {
			w, err := upload(a, fedAvgWeights(ups))
			if err != nil {
				return err
			}
			flag, err := a.newFlag()
			if err != nil {
				return err
			}
			return b.launch("cohort_fedavg", d, out, v.mat, d, n, d, w, flag)
		}},
		{aggregate.Median{}, coord(sortedMedian, 0, lo, hi)},
		{aggregate.TrimmedMean{Beta: 0.1}, coord(sortedTrimmed, cut, cut, n-cut)},
	}
	for _, r := range []aggregate.Rule{aggregate.Krum{F: 3}, aggregate.GeometricMedian{Iterations: 5},
		aggregate.CenteredClipping{Tau: 1, Iterations: 1}, aggregate.Bulyan{F: 3}} {
		rules = append(rules, rule{r, func() error {
			_, err := runVector(v, r, nil, ups)
			return err
		}})
	}
	cpu := os.Getenv("COHORT_GPU_BENCH_CPU") != "0"
	// The end-to-end and CPU times are measured once per rule (the
	// benchmark function may be called more than once).
	type once struct{ e2e, cpu float64 }
	measured := map[string]once{}
	for _, r := range rules {
		bm.Run(r.r.Name(), func(bm *testing.B) {
			bm.SetBytes(bytes)
			best := 1e300
			for i := 0; i < bm.N; i++ {
				ms, err := timer.time(r.device)
				if err != nil {
					bm.Fatal(err)
				}
				best = min(best, ms)
			}
			bm.ReportMetric(best, "device-ms")
			bm.ReportMetric(copyMS/best, "of-copy")
			m, ok := measured[r.r.Name()]
			if !ok {
				dst := make([]float32, d)
				t0 := time.Now()
				if _, err := b.Aggregate(r.r, dst, ups); err != nil {
					bm.Fatal(err)
				}
				m.e2e = float64(time.Since(t0).Microseconds()) / 1e3
				if cpu {
					t0 = time.Now()
					if _, err := r.r.Aggregate(dst, ups); err != nil {
						bm.Fatal(err)
					}
					m.cpu = float64(time.Since(t0).Microseconds()) / 1e3
				}
				measured[r.r.Name()] = m
			}
			bm.ReportMetric(m.e2e, "end-to-end-ms")
			if m.cpu > 0 {
				bm.ReportMetric(m.cpu, "cpu-ms")
				bm.ReportMetric(m.cpu/best, "speedup-device")
				bm.ReportMetric(m.cpu/m.e2e, "speedup-end-to-end")
			}
		})
	}
}

// BenchmarkDeviceTrainStep re-executes training steps of the
// Fashion-MNIST models (batch 64, Adam) on the GPU, reporting images/s
// and the speed-up over the engine on the CPU measured in the same run.
func BenchmarkDeviceTrainStep(bm *testing.B) {
	b := openDevice(bm)
	cpuRates := map[string]float64{}
	for _, m := range []struct {
		name string
		spec engine.Spec
	}{{"mlp", fashionMLP}, {"cnn", fashionCNN}} {
		bm.Run(m.name, func(bm *testing.B) {
			const batch = 64
			x, labels := batchFor(bm, m.spec, batch*8, 1)
			data := engine.Dataset{Inputs: x, Labels: labels, Width: m.spec.InputWidth()}
			w, err := engine.Init(m.spec, 1)
			if err != nil {
				bm.Fatal(err)
			}
			// The CPU: a few steps, once.
			cpuRate, ok := cpuRates[m.name]
			if !ok {
				const cpuSteps = 3
				t0 := time.Now()
				if _, err := engine.Train(m.spec, w, data, engine.TrainConfig{Steps: cpuSteps, BatchSize: batch, Optimizer: "adam", LearningRate: 0.001, Seed: 1}); err != nil {
					bm.Fatal(err)
				}
				cpuRate = float64(cpuSteps*batch) / time.Since(t0).Seconds()
				cpuRates[m.name] = cpuRate
			}
			opt := engine.NewAdam(0.001)
			bm.ResetTimer()
			for i := 0; i < bm.N; i++ {
				res, err := Train(b, m.spec, w, data, engine.TrainConfig{Steps: 1, BatchSize: batch, Resume: opt, Seed: uint64(i)})
				if err != nil {
					bm.Fatal(err)
				}
				w = res.Weights
			}
			rate := float64(bm.N*batch) / bm.Elapsed().Seconds()
			bm.ReportMetric(rate, "images/s")
			bm.ReportMetric(cpuRate, "cpu-images/s")
			bm.ReportMetric(rate/cpuRate, "speedup")
		})
	}
}
