//go:build cuda || cudaemu

package gpu

import (
	"errors"
	"sync"
	"unsafe"

	"github.com/cohortchain/cohort/sidecar/aggregate"
)

// Aggregation on the device.
//
// FedAvg, median and trimmed mean work coordinate by coordinate: the
// updates stream through the device in chunks of coordinates (all
// clients' values of a chunk packed into a pinned buffer), the upload of
// one chunk overlapping the kernel on the previous one and the download
// of its result (coordPipeline). They need no device memory beyond two
// chunks, whatever the model size.
//
// Krum, Multi-Krum, Bulyan, geometric median and centered clipping read
// whole vectors several times: the updates are staged on the device once
// (devVec) and the host-side steps of runVector drive the kernels. When
// they do not fit in device memory the rule runs on the CPU instead
// (package aggregate: the same bits).

func (b *devBackend) FedAvg(dst []float32, updates []aggregate.Update) ([]float32, error) {
	if _, err := checkShape(updates); err != nil {
		return nil, err
	}
	var out []float32
	err := b.run(func(a *arena) error {
		w, err := upload(a, fedAvgWeights(updates))
		if err != nil {
			return err
		}
		n := len(updates)
		var bad bool
		out, bad, err = b.coordPipeline(a, dst, updates, func(in devPtr, ld, m int, res, flag devPtr) error {
			return b.launch("cohort_fedavg", m, res, in, ld, n, m, w, flag)
		})
		if err == nil && bad {
			err = nonFiniteError(updates)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (b *devBackend) Median(dst []float32, updates []aggregate.Update) ([]float32, error) {
	if _, err := checkShape(updates); err != nil {
		return nil, err
	}
	lo, hi := medianRanks(len(updates))
	return b.sortedRule(aggregate.Median{}, dst, updates, sortedMedian, 0, lo, hi)
}

func (b *devBackend) TrimmedMean(dst []float32, updates []aggregate.Update, beta float64) ([]float32, error) {
	cut, err := trimmedCut(beta, len(updates))
	if err != nil {
		return nil, err
	}
	if _, err := checkShape(updates); err != nil {
		return nil, err
	}
	return b.sortedRule(aggregate.TrimmedMean{Beta: beta}, dst, updates, sortedTrimmed, cut, cut, len(updates)-cut)
}

// sortedBlock is the block size of cohort_sorted for n rows: n keys per
// thread in shared memory. 0 when even 32 threads do not fit.
func (b *devBackend) sortedBlock(n int) int {
	return min(256, b.maxShared/(4*max(n, 1))/32*32)
}

// sortedRule streams a median or trimmed mean through cohort_sorted.
func (b *devBackend) sortedRule(rule aggregate.Rule, dst []float32, updates []aggregate.Update, mode, cut, lo, hi int) ([]float32, error) {
	n := len(updates)
	block := b.sortedBlock(n)
	if block == 0 {
		return rule.Aggregate(dst, updates) // too many clients for shared memory
	}
	net := sortingNetwork(n, lo, hi)
	var out []float32
	err := b.run(func(a *arena) error {
		dnet, err := upload(a, net)
		if err != nil {
			return err
		}
		rows := make([]int64, n)
		for i := range rows {
			rows[i] = int64(i)
		}
		drows, err := upload(a, rows)
		if err != nil {
			return err
		}
		var bad bool
		out, bad, err = b.coordPipeline(a, dst, updates, func(in devPtr, ld, m int, res, flag devPtr) error {
			return b.launchBlock("cohort_sorted", m, block, n*block*4, res, in, ld, drows, n, m, dnet, len(net)/2, mode, cut, flag)
		})
		if err == nil && bad {
			err = nonFiniteError(updates)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// coordPipeline streams the updates through kernel in chunks of
// coordinates. For chunk j (slot k = j mod 2): the host packs the
// clients' values into pinned buffer k (row stride m) once the copy of
// chunk j−2 out of it is done; the copy stream uploads it to device slot
// k once the kernel of chunk j−2 is done with that slot; the compute
// stream waits for the upload, runs kernel(in, ld, m, res, flag) and
// copies res back to pinned buffer k; the host then drains chunk j−1.
// It returns the output and whether the kernel raised the flag.
func (b *devBackend) coordPipeline(a *arena, dst []float32, updates []aggregate.Update, kernel func(in devPtr, ld, m int, res, flag devPtr) error) ([]float32, bool, error) {
	n, d := len(updates), len(updates[0].Vector)
	out := output(dst, d)
	if d == 0 {
		return out, false, nil
	}
	flag, err := a.newFlag()
	if err != nil {
		return nil, false, err
	}
	m := int(max(1, min(int64(d), b.pipeBytes/int64(4*n))))
	var pin, pout [2]unsafe.Pointer
	var din, dout [2]devPtr
	for k := range 2 {
		if pin[k], err = a.pinned(int64(n*m) * 4); err != nil {
			return nil, false, err
		}
		if pout[k], err = a.pinned(int64(m) * 4); err != nil {
			return nil, false, err
		}
		if din[k], err = a.alloc(int64(n*m) * 4); err != nil {
			return nil, false, err
		}
		if dout[k], err = a.alloc(int64(m) * 4); err != nil {
			return nil, false, err
		}
	}
	drv := b.drv
	drain := func(j, t, mm int) error {
		k := j % 2
		if err := drv.syncEvent(b.pipeOut[k]); err != nil {
			return err
		}
		copy(out[t:t+mm], unsafe.Slice((*float32)(pout[k]), mm))
		return nil
	}
	prevT, prevM := 0, 0
	j := 0
	for t := 0; t < d; t += m {
		k, mm := j%2, min(m, d-t)
		if err := drv.syncEvent(b.pipeIn[k]); err != nil {
			return nil, false, err
		}
		packed := unsafe.Slice((*float32)(pin[k]), n*mm)
		var wg sync.WaitGroup
		for i, u := range updates {
			wg.Add(1)
			go func() {
				defer wg.Done()
				copy(packed[i*mm:(i+1)*mm], u.Vector[t:t+mm])
			}()
		}
		wg.Wait()
		if err := drv.wait(b.copyS, b.pipeKern[k]); err != nil {
			return nil, false, err
		}
		if err := drv.h2d(din[k], pin[k], int64(n*mm)*4, b.copyS); err != nil {
			return nil, false, err
		}
		if err := drv.record(b.pipeIn[k], b.copyS); err != nil {
			return nil, false, err
		}
		if err := drv.wait(b.compS, b.pipeIn[k]); err != nil {
			return nil, false, err
		}
		if err := kernel(din[k], mm, mm, dout[k], flag); err != nil {
			return nil, false, err
		}
		if err := drv.record(b.pipeKern[k], b.compS); err != nil {
			return nil, false, err
		}
		if err := drv.d2h(pout[k], dout[k], int64(mm)*4, b.compS); err != nil {
			return nil, false, err
		}
		if err := drv.record(b.pipeOut[k], b.compS); err != nil {
			return nil, false, err
		}
		if j > 0 {
			if err := drain(j-1, prevT, prevM); err != nil {
				return nil, false, err
			}
		}
		prevT, prevM = t, mm
		j++
	}
	if err := drain(j-1, prevT, prevM); err != nil {
		return nil, false, err
	}
	bad, err := b.readFlag(flag)
	return out, bad, err
}

// ---------------------------------------------------------------- vector rules

func (b *devBackend) Krum(dst []float32, updates []aggregate.Update, f, multi int) ([]float32, error) {
	return b.vector(aggregate.Krum{F: f, Multi: multi}, dst, updates)
}

func (b *devBackend) Bulyan(dst []float32, updates []aggregate.Update, f int) ([]float32, error) {
	return b.vector(aggregate.Bulyan{F: f}, dst, updates)
}

func (b *devBackend) GeometricMedian(dst []float32, updates []aggregate.Update, iterations int) ([]float32, error) {
	return b.vector(aggregate.GeometricMedian{Iterations: iterations}, dst, updates)
}

func (b *devBackend) CenteredClipping(dst []float32, updates []aggregate.Update, tau float64, iterations int) ([]float32, error) {
	return b.vector(aggregate.CenteredClipping{Tau: tau, Iterations: iterations}, dst, updates)
}

func (b *devBackend) Aggregate(rule aggregate.Rule, dst []float32, updates []aggregate.Update) ([]float32, error) {
	switch r := rule.(type) {
	case aggregate.FedAvg:
		return b.FedAvg(dst, updates)
	case aggregate.Median:
		return b.Median(dst, updates)
	case aggregate.TrimmedMean:
		return b.TrimmedMean(dst, updates, r.Beta)
	}
	if isVectorRule(rule) {
		return b.vector(rule, dst, updates)
	}
	return rule.Aggregate(dst, updates)
}

func (b *devBackend) PairwiseSqDist(updates []aggregate.Update) ([]float64, error) {
	if _, err := aggregate.Check(updates); err != nil {
		return nil, err
	}
	n := len(updates)
	var dist []float64
	err := b.run(func(a *arena) error {
		v, err := b.stage(a, updates)
		if err != nil {
			return err
		}
		d, err := v.dists(allPairs(n))
		if err != nil {
			return err
		}
		dist = distMatrix(n, d)
		return nil
	})
	if errors.Is(err, errOutOfMemory) {
		return CPU().PairwiseSqDist(updates)
	}
	return dist, err
}

// vector runs a whole-vector rule on the staged updates, or on the CPU
// when they do not fit.
func (b *devBackend) vector(rule aggregate.Rule, dst []float32, updates []aggregate.Update) ([]float32, error) {
	if _, err := checkShape(updates); err != nil {
		return nil, err
	}
	if len(updates[0].Vector) == 0 || b.sortedBlock(len(updates)) == 0 {
		return rule.Aggregate(dst, updates)
	}
	var out []float32
	err := b.run(func(a *arena) error {
		v, err := b.stage(a, updates)
		if err != nil {
			return err
		}
		out, err = runVector(v, rule, dst, updates)
		return err
	})
	if errors.Is(err, errOutOfMemory) {
		return rule.Aggregate(dst, updates)
	}
	return out, err
}

// devVec is vecOps on the device: the n updates as the rows of an n×d
// matrix, and the vector v (with a second buffer for its next value).
type devVec struct {
	b       *devBackend
	a       *arena
	mat     devPtr
	n, d    int
	v, next devPtr
	keep    bool // result leaves v on the device (benchmarks)
}

// stage uploads the updates into a new devVec.
func (b *devBackend) stage(a *arena, updates []aggregate.Update) (*devVec, error) {
	n, d := len(updates), len(updates[0].Vector)
	v := &devVec{b: b, a: a, n: n, d: d}
	var err error
	if v.mat, err = a.alloc(int64(n) * int64(d) * 4); err != nil {
		return nil, err
	}
	if v.v, err = a.alloc(int64(d) * 4); err != nil {
		return nil, err
	}
	if v.next, err = a.alloc(int64(d) * 4); err != nil {
		return nil, err
	}
	for i, u := range updates {
		src, bytes := bytesOf(u.Vector)
		if err := b.toDevice(v.mat+devPtr(int64(i)*int64(d)*4), src, bytes); err != nil {
			return nil, err
		}
	}
	return v, nil
}

func (v *devVec) allFinite() (bool, error) {
	flag, err := v.a.newFlag()
	if err != nil {
		return false, err
	}
	if err := v.b.launch("cohort_finite", v.n*v.d, v.mat, v.n*v.d, flag); err != nil {
		return false, err
	}
	bad, err := v.b.readFlag(flag)
	return !bad, err
}

func (v *devVec) dists(pairs []int32) ([]float64, error) {
	np := len(pairs) / 2
	dp, err := upload(v.a, pairs)
	if err != nil {
		return nil, err
	}
	out, err := v.a.alloc(int64(np) * 8)
	if err != nil {
		return nil, err
	}
	// One thread per pair, each a serial chain over all coordinates:
	// small blocks spread the chains over the multiprocessors.
	if err := v.b.launchBlock("cohort_pair_sqdist", np, 32, 0, out, v.mat, v.d, v.d, dp, np, v.v); err != nil {
		return nil, err
	}
	return download[float64](v.b, out, np)
}

// swap makes next the current vector.
func (v *devVec) swap() { v.v, v.next = v.next, v.v }

func (v *devVec) setMean(rows []int) error {
	dr, err := upload(v.a, int64s(rows))
	if err != nil {
		return err
	}
	if err := v.b.launch("cohort_mean_rows", v.d, v.next, v.mat, v.d, dr, len(rows), v.d); err != nil {
		return err
	}
	v.swap()
	return nil
}

func (v *devVec) setWeighted(w []float64, total float64) error {
	dw, err := upload(v.a, w)
	if err != nil {
		return err
	}
	if err := v.b.launch("cohort_weighted_rows", v.d, v.next, v.mat, v.d, v.n, v.d, dw, total); err != nil {
		return err
	}
	v.swap()
	return nil
}

func (v *devVec) setClip(scale []float64) error {
	ds, err := upload(v.a, scale)
	if err != nil {
		return err
	}
	if err := v.b.launch("cohort_clip_step", v.d, v.next, v.mat, v.d, v.n, v.d, v.v, ds); err != nil {
		return err
	}
	v.swap()
	return nil
}

func (v *devVec) setSorted(rows []int, mode, cut int) (bool, error) {
	k := len(rows)
	lo, hi := cut, k-cut
	if mode == sortedMedian {
		lo, hi = medianRanks(k)
	}
	net := sortingNetwork(k, lo, hi)
	dnet, err := upload(v.a, net)
	if err != nil {
		return false, err
	}
	dr, err := upload(v.a, int64s(rows))
	if err != nil {
		return false, err
	}
	flag, err := v.a.newFlag()
	if err != nil {
		return false, err
	}
	block := v.b.sortedBlock(k)
	if err := v.b.launchBlock("cohort_sorted", v.d, block, k*block*4, v.next, v.mat, v.d, dr, k, v.d, dnet, len(net)/2, mode, cut, flag); err != nil {
		return false, err
	}
	v.swap()
	return v.b.readFlag(flag)
}

func (v *devVec) result(dst []float32) ([]float32, error) {
	if v.keep {
		return nil, nil
	}
	out := output(dst, v.d)
	p, bytes := bytesOf(out)
	return out, v.b.fromDevice(p, v.v, bytes)
}
