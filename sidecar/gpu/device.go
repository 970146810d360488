//go:build cuda || cudaemu

package gpu

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync"
	"unsafe"
)

// devBackend is the Backend on a device (driver): the kernels of
// kernels/cohort.cu launched with the parameters emulate.go's tests check.
//
// Memory: device buffers come from a grow-only pool of size classes and
// go back to it when a call returns, so steady-state calls allocate
// nothing; host transfers go through page-locked (pinned) staging
// buffers, also pooled. Streams: copies from the host run on the copy
// stream, kernels and copies to the host on the compute stream, ordered
// by events, so that uploading one chunk overlaps computing on another.
// There is no managed (unified) memory.
type devBackend struct {
	mu     sync.Mutex
	drv    driver
	name   string
	closed bool

	copyS, compS streamID
	kern         map[string]kernelID
	maxShared    int
	maxGrid      int

	dev  devPool
	host hostPool

	// Staging for toDevice and fromDevice: two pinned slots each way, of
	// stageCap bytes, used stageBytes (≤ stageCap) at a time.
	stageBytes, stageCap int64
	up, down             [2]unsafe.Pointer
	upEv                 [2]eventID
	downEv               [2]eventID
	upDone               eventID
	upSlot               int
	// Events of the coordinate pipeline (aggregation).
	pipeIn, pipeKern, pipeOut [2]eventID

	// colBudget bounds the im2col workspace of one conv call (floats).
	colBudget int
	// pipeBytes is the size of one chunk of the aggregation pipeline.
	pipeBytes int64
}

// Defaults of the staging and pipeline sizes.
const (
	defaultStageBytes = 16 << 20
	defaultPipeBytes  = 64 << 20
)

func newDevBackend(drv driver) (*devBackend, error) {
	b := &devBackend{drv: drv, kern: map[string]kernelID{}, colBudget: defaultColBudget,
		stageBytes: defaultStageBytes, stageCap: defaultStageBytes, pipeBytes: defaultPipeBytes}
	b.dev.drv, b.host.drv = drv, drv
	err := b.locked(func() error {
		name, mem, err := drv.deviceName()
		if err != nil {
			return err
		}
		b.name = fmt.Sprintf("%s, %.1f GiB", name, float64(mem)/(1<<30))
		b.maxShared = drv.maxSharedPerBlock()
		b.maxGrid = max(1, drv.multiprocessors()) * 32
		for _, k := range kernelNames {
			if b.kern[k], err = drv.kernel(k); err != nil {
				return fmt.Errorf("gpu: kernel %s: %w", k, err)
			}
		}
		if b.copyS, err = drv.newStream(); err != nil {
			return err
		}
		if b.compS, err = drv.newStream(); err != nil {
			return err
		}
		for _, evs := range [][]eventID{b.upEv[:], b.downEv[:], b.pipeIn[:], b.pipeKern[:], b.pipeOut[:]} {
			for i := range evs {
				if evs[i], err = drv.newEvent(false); err != nil {
					return err
				}
			}
		}
		if b.upDone, err = drv.newEvent(false); err != nil {
			return err
		}
		for i := range b.up {
			if b.up[i], err = b.host.get(b.stageCap); err != nil {
				return err
			}
			if b.down[i], err = b.host.get(b.stageCap); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		drv.close()
		return nil, err
	}
	return b, nil
}

func (b *devBackend) Name() string { return b.name }

// Close frees every buffer and the device context. Calls after it fail
// with ErrClosed.
func (b *devBackend) Close() error {
	err := b.locked(func() error {
		b.closed = true
		b.drv.syncStream(b.copyS)
		b.drv.syncStream(b.compS)
		b.dev.trim()
		b.host.trim(b.up[:], b.down[:])
		return b.drv.close()
	})
	if errors.Is(err, ErrClosed) {
		return nil
	}
	return err
}

// locked runs fn holding the backend, on a locked OS thread with the
// device's context current.
func (b *devBackend) locked(fn func() error) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return ErrClosed
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := b.drv.bind(); err != nil {
		return err
	}
	return fn()
}

// run is locked for one call of the API: fn gets an arena whose device
// buffers go back to the pool once the device has finished with them.
func (b *devBackend) run(fn func(a *arena) error) error {
	return b.locked(func() error {
		a := &arena{b: b}
		err := fn(a)
		if serr := b.drv.syncStream(b.compS); err == nil {
			err = serr
		}
		if serr := b.drv.syncStream(b.copyS); err == nil {
			err = serr
		}
		a.release()
		return err
	})
}

// ---------------------------------------------------------------- pools

// poolClass rounds a request up to its size class: powers of two from
// 256 bytes, then multiples of 64 MiB.
func poolClass(n int64) int64 {
	const big = 64 << 20
	if n >= big {
		return (n + big - 1) / big * big
	}
	c := int64(256)
	for c < n {
		c <<= 1
	}
	return c
}

// devPool is the grow-only pool of device buffers.
type devPool struct {
	drv  driver
	free map[int64][]devPtr
	held int64
}

// errOutOfMemory marks an allocation the device could not satisfy.
var errOutOfMemory = errors.New("gpu: out of device memory")

func (p *devPool) get(n int64) (devPtr, int64, error) {
	c := poolClass(n)
	if l := p.free[c]; len(l) > 0 {
		ptr := l[len(l)-1]
		p.free[c] = l[:len(l)-1]
		return ptr, c, nil
	}
	ptr, err := p.drv.alloc(c)
	if err != nil {
		// Give the cached buffers back and try once more.
		p.trim()
		if ptr, err = p.drv.alloc(c); err != nil {
			return 0, 0, fmt.Errorf("%w: %d bytes: %v", errOutOfMemory, c, err)
		}
	}
	p.held += c
	return ptr, c, nil
}

func (p *devPool) put(ptr devPtr, c int64) {
	if p.free == nil {
		p.free = map[int64][]devPtr{}
	}
	p.free[c] = append(p.free[c], ptr)
}

// trim frees the buffers not in use.
func (p *devPool) trim() {
	for c, l := range p.free {
		for _, ptr := range l {
			p.drv.free(ptr)
			p.held -= c
		}
		delete(p.free, c)
	}
}

// hostPool is the grow-only pool of pinned host buffers.
type hostPool struct {
	drv   driver
	free  map[int64][]unsafe.Pointer
	class map[unsafe.Pointer]int64
}

func (p *hostPool) get(n int64) (unsafe.Pointer, error) {
	c := poolClass(n)
	if l := p.free[c]; len(l) > 0 {
		ptr := l[len(l)-1]
		p.free[c] = l[:len(l)-1]
		return ptr, nil
	}
	ptr, err := p.drv.allocHost(c)
	if err != nil {
		return nil, fmt.Errorf("gpu: pinned host memory, %d bytes: %w", c, err)
	}
	if p.class == nil {
		p.class = map[unsafe.Pointer]int64{}
	}
	p.class[ptr] = c
	return ptr, nil
}

func (p *hostPool) put(ptr unsafe.Pointer) {
	if p.free == nil {
		p.free = map[int64][]unsafe.Pointer{}
	}
	c := p.class[ptr]
	p.free[c] = append(p.free[c], ptr)
}

// trim frees every pinned buffer (at Close; extra are buffers held
// outside the free lists).
func (p *hostPool) trim(extra ...[]unsafe.Pointer) {
	for _, l := range p.free {
		for _, ptr := range l {
			p.drv.freeHost(ptr)
			delete(p.class, ptr)
		}
	}
	p.free = nil
	for _, l := range extra {
		for _, ptr := range l {
			if _, ok := p.class[ptr]; ok {
				p.drv.freeHost(ptr)
				delete(p.class, ptr)
			}
		}
	}
}

// arena is the buffers of one call.
type arena struct {
	b    *devBackend
	dev  []pooled
	host []unsafe.Pointer
}

type pooled struct {
	ptr   devPtr
	class int64
}

// alloc returns a device buffer of at least bytes (at least 4).
func (a *arena) alloc(bytes int64) (devPtr, error) {
	ptr, c, err := a.b.dev.get(max(bytes, 4))
	if err != nil {
		return 0, err
	}
	a.dev = append(a.dev, pooled{ptr, c})
	return ptr, nil
}

// f32 allocates n float32 values.
func (a *arena) f32(n int) (dvec, error) {
	p, err := a.alloc(int64(n) * 4)
	return dvec{p, n}, err
}

// pinned returns a pinned host buffer of at least bytes.
func (a *arena) pinned(bytes int64) (unsafe.Pointer, error) {
	p, err := a.b.host.get(bytes)
	if err == nil {
		a.host = append(a.host, p)
	}
	return p, err
}

// release returns the buffers to the pools; the streams are idle.
func (a *arena) release() {
	for _, p := range a.dev {
		a.b.dev.put(p.ptr, p.class)
	}
	for _, p := range a.host {
		a.b.host.put(p)
	}
	a.dev, a.host = nil, nil
}

// dvec is a float32 (or int32) vector on the device.
type dvec struct {
	p devPtr
	n int
}

// at is the address of element i of a 4-byte vector.
func (v dvec) at(i int) devPtr { return v.p + devPtr(4*i) }

// ---------------------------------------------------------------- transfers

// bytesOf views a slice's memory as bytes.
func bytesOf[T any](v []T) (unsafe.Pointer, int64) {
	if len(v) == 0 {
		return nil, 0
	}
	return unsafe.Pointer(&v[0]), int64(len(v)) * int64(unsafe.Sizeof(v[0]))
}

// toDevice copies bytes of host memory into dst: the host copies chunk i
// into one pinned slot while the copy engine moves chunk i−1 from the
// other (copy stream). Work queued on the compute stream afterwards sees
// the data.
func (b *devBackend) toDevice(dst devPtr, src unsafe.Pointer, bytes int64) error {
	if bytes == 0 {
		return nil
	}
	step := max(1, min(b.stageBytes, b.stageCap))
	for off := int64(0); off < bytes; off += step {
		n := min(step, bytes-off)
		k := b.upSlot
		b.upSlot ^= 1
		if err := b.drv.syncEvent(b.upEv[k]); err != nil {
			return err
		}
		parallelCopy(unsafe.Slice((*byte)(b.up[k]), n), unsafe.Slice((*byte)(unsafe.Add(src, off)), n))
		if err := b.drv.h2d(dst+devPtr(off), b.up[k], n, b.copyS); err != nil {
			return err
		}
		if err := b.drv.record(b.upEv[k], b.copyS); err != nil {
			return err
		}
	}
	if err := b.drv.record(b.upDone, b.copyS); err != nil {
		return err
	}
	return b.drv.wait(b.compS, b.upDone)
}

// fromDevice copies bytes from src (after the compute stream's work) to
// host memory, through two pinned slots: the host empties one while the
// copy engine fills the other.
func (b *devBackend) fromDevice(dst unsafe.Pointer, src devPtr, bytes int64) error {
	if bytes == 0 {
		return nil
	}
	type chunk struct{ off, n int64 }
	var prev *chunk
	drain := func(c chunk, k int) error {
		if err := b.drv.syncEvent(b.downEv[k]); err != nil {
			return err
		}
		parallelCopy(unsafe.Slice((*byte)(unsafe.Add(dst, c.off)), c.n), unsafe.Slice((*byte)(b.down[k]), c.n))
		return nil
	}
	i := 0
	step := max(1, min(b.stageBytes, b.stageCap))
	for off := int64(0); off < bytes; off += step {
		n := min(step, bytes-off)
		k := i % 2
		if err := b.drv.d2h(b.down[k], src+devPtr(off), n, b.compS); err != nil {
			return err
		}
		if err := b.drv.record(b.downEv[k], b.compS); err != nil {
			return err
		}
		if prev != nil {
			if err := drain(*prev, (i-1)%2); err != nil {
				return err
			}
		}
		prev = &chunk{off, n}
		i++
	}
	return drain(*prev, (i-1)%2)
}

// parallelCopy is copy, split between goroutines for large buffers: one
// core cannot fill a PCIe link through pinned memory.
func parallelCopy(dst, src []byte) {
	const grain = 2 << 20
	n := min(len(dst), len(src))
	workers := min(runtime.GOMAXPROCS(0), n/grain)
	if workers <= 1 {
		copy(dst, src)
		return
	}
	chunk := (n + workers - 1) / workers
	var wg sync.WaitGroup
	for lo := 0; lo < n; lo += chunk {
		hi := min(lo+chunk, n)
		wg.Add(1)
		go func() {
			defer wg.Done()
			copy(dst[lo:hi], src[lo:hi])
		}()
	}
	wg.Wait()
}

// upload copies a host slice to a new device buffer of the arena.
func upload[T any](a *arena, v []T) (devPtr, error) {
	src, n := bytesOf(v)
	p, err := a.alloc(n)
	if err != nil {
		return 0, err
	}
	return p, a.b.toDevice(p, src, n)
}

// download copies n values from the device into a new slice.
func download[T any](b *devBackend, p devPtr, n int) ([]T, error) {
	out := make([]T, n)
	dst, bytes := bytesOf(out)
	return out, b.fromDevice(dst, p, bytes)
}

// readFlag reads a uint32 flag from the device.
func (b *devBackend) readFlag(p devPtr) (bool, error) {
	v, err := download[uint32](b, p, 1)
	if err != nil {
		return false, err
	}
	return v[0] != 0, nil
}

// newFlag returns a zeroed uint32 flag on the compute stream.
func (a *arena) newFlag() (devPtr, error) {
	p, err := a.alloc(4)
	if err != nil {
		return 0, err
	}
	return p, a.b.drv.memsetD32(p, 0, 1, a.b.compS)
}

// ---------------------------------------------------------------- launches

// blockSize is the threads per block of the element-wise kernels.
const blockSize = 256

// pack turns kernel arguments into 64-bit words: device pointers, ints
// (as int64), float64; the kernels' parameters are exactly these.
func pack(args []any) []uint64 {
	out := make([]uint64, len(args))
	for i, a := range args {
		switch v := a.(type) {
		case devPtr:
			out[i] = uint64(v)
		case dvec:
			out[i] = uint64(v.p)
		case int:
			out[i] = uint64(int64(v))
		case int64:
			out[i] = uint64(v)
		case float64:
			out[i] = math.Float64bits(v)
		default:
			panic(fmt.Sprintf("gpu: kernel argument %d of type %T", i, a))
		}
	}
	return out
}

// launch runs a grid-stride kernel over work items on the compute stream.
func (b *devBackend) launch(name string, work int, args ...any) error {
	return b.launchBlock(name, work, blockSize, 0, args...)
}

// launchBlock is launch with a block size and dynamic shared memory.
func (b *devBackend) launchBlock(name string, work, block, shared int, args ...any) error {
	grid := max(1, min((work+block-1)/block, b.maxGrid))
	return b.drv.launch(b.kern[name], [3]int{grid, 1, 1}, block, shared, b.compS, pack(args))
}

// gemm launches cohort_gemm for g: C = init + A·B (see gemmArgs).
func (b *devBackend) gemm(g gemmArgs, C, A, B, bias devPtr) error {
	tiles := ((g.M + 63) / 64) * ((g.N + 63) / 64)
	if tiles <= 0 || g.Z <= 0 {
		return nil
	}
	if tiles > math.MaxInt32 {
		return fmt.Errorf("%w: gemm of %d×%d is too large", ErrShape, g.M, g.N)
	}
	return b.drv.launch(b.kern["cohort_gemm"], [3]int{tiles, min(g.Z, 65535), 1}, 256, 0, b.compS, pack([]any{
		C, A, B, bias, g.M, g.N, g.K, g.S, g.Z, g.aM, g.aK, g.aSeg, g.aZ, g.bK, g.bN, g.bSeg, g.bZ, g.ldc, g.cZ, g.mode}))
}
