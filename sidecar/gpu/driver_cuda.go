//go:build cuda

package gpu

/*
#cgo LDFLAGS: -lcuda
#cgo linux LDFLAGS: -L/usr/local/cuda/lib64 -L/usr/lib/x86_64-linux-gnu
#cgo linux CFLAGS: -I/usr/local/cuda/include
#include <cuda.h>

// gorgonia.org/cu v0.9.6 does not wrap cuMemAllocHost (page-locked host
// memory); this does. cu.MemFreeHost frees it.
static int cohortMemAllocHost(void **p, size_t bytes) { return (int)cuMemAllocHost(p, bytes); }
*/
import "C"

import (
	_ "embed"
	"fmt"
	"os"
	"strconv"
	"unsafe"

	"gorgonia.org/cu"
)

// The cuda build: the device backend on the CUDA driver API through
// gorgonia.org/cu. cu's package initialisation calls cuInit and exits the
// process when no driver is present: a binary built with the cuda tag
// runs on GPU hosts only.

// CUDA reports whether this build has the CUDA backend (the cuda tag).
const CUDA = true

// ptxSource is the kernels' PTX (make ptx), JIT-compiled by the driver
// for the device at Open.
//
//go:embed kernels/cohort.ptx
var ptxSource string

// Open returns the CUDA backend on device COHORT_CUDA_DEVICE (default 0):
// its primary context, the kernels' module, two streams and the buffer
// pools. It fails with ErrNoDevice when there is no device.
func Open() (Backend, error) {
	n, err := cu.NumDevices()
	if err != nil || n == 0 {
		return nil, fmt.Errorf("%w (%d devices, %v)", ErrNoDevice, n, err)
	}
	ord := 0
	if s := os.Getenv("COHORT_CUDA_DEVICE"); s != "" {
		if ord, err = strconv.Atoi(s); err != nil || ord < 0 || ord >= n {
			return nil, fmt.Errorf("%w: COHORT_CUDA_DEVICE=%q, %d devices", ErrNoDevice, s, n)
		}
	}
	dev, err := cu.GetDevice(ord)
	if err != nil {
		return nil, fmt.Errorf("gpu: device %d: %w", ord, err)
	}
	ctx, err := dev.RetainPrimaryCtx()
	if err != nil {
		return nil, fmt.Errorf("gpu: primary context of device %d: %w", ord, err)
	}
	b, err := newDevBackend(&cudaDriver{dev: dev, ctx: ctx})
	if err != nil {
		return nil, err
	}
	return b, nil
}

type cudaDriver struct {
	dev     cu.Device
	ctx     cu.CUContext
	mod     cu.Module
	loaded  bool
	streams []cu.Stream
	events  []cu.Event
	fns     []cu.Function
}

func (d *cudaDriver) deviceName() (string, int64, error) {
	name, err := d.dev.Name()
	if err != nil {
		return "", 0, err
	}
	mem, err := d.dev.TotalMem()
	if err != nil {
		return "", 0, err
	}
	return "cuda: " + name, mem, nil
}

func (d *cudaDriver) maxSharedPerBlock() int {
	v, err := d.dev.Attribute(cu.MaxSharedMemoryPerBlock)
	if err != nil {
		return 48 << 10
	}
	return v
}

func (d *cudaDriver) multiprocessors() int {
	v, err := d.dev.Attribute(cu.MultiprocessorCount)
	if err != nil {
		return 1
	}
	return v
}

func (d *cudaDriver) bind() error { return cu.SetCurrentContext(d.ctx) }

func (d *cudaDriver) memInfo() (int64, int64, error) { return cu.MemInfo() }

func (d *cudaDriver) alloc(bytes int64) (devPtr, error) {
	p, err := cu.MemAlloc(bytes)
	return devPtr(p), err
}

func (d *cudaDriver) free(p devPtr) error { return cu.MemFree(cu.DevicePtr(p)) }

func (d *cudaDriver) allocHost(bytes int64) (unsafe.Pointer, error) {
	var p unsafe.Pointer
	if rc := C.cohortMemAllocHost(&p, C.size_t(bytes)); rc != 0 {
		return nil, fmt.Errorf("cuMemAllocHost: CUresult %d", int(rc))
	}
	return p, nil
}

func (d *cudaDriver) freeHost(p unsafe.Pointer) error { return cu.MemFreeHost(p) }

func (d *cudaDriver) newStream() (streamID, error) {
	s, err := cu.MakeStream(cu.NonBlocking)
	if err != nil {
		return 0, err
	}
	d.streams = append(d.streams, s)
	return streamID(len(d.streams) - 1), nil
}

func (d *cudaDriver) newEvent(timing bool) (eventID, error) {
	flags := cu.DisableTiming
	if timing {
		flags = cu.DefaultEvent
	}
	e, err := cu.MakeEvent(flags)
	if err != nil {
		return 0, err
	}
	d.events = append(d.events, e)
	return eventID(len(d.events) - 1), nil
}

func (d *cudaDriver) h2d(dst devPtr, src unsafe.Pointer, bytes int64, s streamID) error {
	return cu.MemcpyHtoDAsync(cu.DevicePtr(dst), src, bytes, d.streams[s])
}

func (d *cudaDriver) d2h(dst unsafe.Pointer, src devPtr, bytes int64, s streamID) error {
	return cu.MemcpyDtoHAsync(dst, cu.DevicePtr(src), bytes, d.streams[s])
}

func (d *cudaDriver) d2d(dst, src devPtr, bytes int64, s streamID) error {
	return cu.MemcpyDtoDAsync(cu.DevicePtr(dst), cu.DevicePtr(src), bytes, d.streams[s])
}

func (d *cudaDriver) memsetD32(dst devPtr, v uint32, n int64, s streamID) error {
	return cu.MemsetD32Async(cu.DevicePtr(dst), uint(v), n, d.streams[s])
}

func (d *cudaDriver) record(e eventID, s streamID) error { return d.events[e].Record(d.streams[s]) }
func (d *cudaDriver) wait(s streamID, e eventID) error   { return d.streams[s].Wait(d.events[e], 0) }
func (d *cudaDriver) syncEvent(e eventID) error          { return d.events[e].Synchronize() }
func (d *cudaDriver) syncStream(s streamID) error        { return d.streams[s].Synchronize() }

func (d *cudaDriver) elapsed(start, end eventID) (float64, error) {
	return d.events[start].Elapsed(d.events[end])
}

func (d *cudaDriver) kernel(name string) (kernelID, error) {
	if !d.loaded {
		mod, err := cu.LoadData(ptxSource)
		if err != nil {
			return 0, fmt.Errorf("loading the PTX module: %w", err)
		}
		d.mod, d.loaded = mod, true
	}
	fn, err := d.mod.Function(name)
	if err != nil {
		return 0, err
	}
	d.fns = append(d.fns, fn)
	return kernelID(len(d.fns) - 1), nil
}

func (d *cudaDriver) launch(k kernelID, grid [3]int, block, shared int, s streamID, args []uint64) error {
	params := make([]unsafe.Pointer, len(args))
	for i := range args {
		params[i] = unsafe.Pointer(&args[i])
	}
	return d.fns[k].Launch(grid[0], grid[1], grid[2], block, 1, 1, shared, d.streams[s], params)
}

func (d *cudaDriver) close() error {
	for i := range d.streams {
		d.streams[i].Destroy()
	}
	for i := range d.events {
		cu.DestroyEvent(&d.events[i])
	}
	if d.loaded {
		d.mod.Unload()
		d.loaded = false
	}
	return d.dev.ReleasePrimaryCtx()
}
