//go:build cudaemu && !cuda

package gpu

/*
#cgo CXXFLAGS: -std=c++17 -O2
#include <stdint.h>
#include <stdlib.h>
int cohort_emu_launch(const char *name, int gx, int gy, int gz, int block, int shared, const uint64_t *args, int nargs);
int cohort_emu_has_kernel(const char *name);
uint64_t cohort_emu_alloc(uint64_t bytes);
void cohort_emu_free(uint64_t p);
void cohort_emu_h2d(uint64_t dst, const void *src, uint64_t n);
void cohort_emu_d2h(void *dst, uint64_t src, uint64_t n);
void cohort_emu_d2d(uint64_t dst, uint64_t src, uint64_t n);
void cohort_emu_memset32(uint64_t dst, uint32_t v, uint64_t n);
*/
import "C"

import (
	_ "embed"
	"fmt"
	"time"
	"unsafe"
)

// emuSource is the CUDA source cudaemu.cpp includes. Embedding it makes
// it an input of this package's build, so that the go build cache
// recompiles the emulation whenever kernels/cohort.cu changes (a file
// only #included from a subdirectory would not be tracked).
//
//go:embed kernels/cohort.cu
var emuSource string

// The cudaemu build: the device backend on emuDriver, which runs the
// kernels of kernels/cohort.cu compiled for the CPU (cudaemu.cpp) on host
// memory. Every queued operation runs at once, in order (one valid
// schedule of the streams). It exists to test the backend without a GPU:
//
//	go test -tags cudaemu ./sidecar/gpu/

// CUDA reports whether this build has the CUDA backend (the cuda tag).
const CUDA = false

// Open returns the device backend on the CPU emulation of the kernels.
func Open() (Backend, error) {
	b, err := newDevBackend(&emuDriver{kernels: map[string]kernelID{}})
	if err != nil {
		return nil, err
	}
	return b, nil
}

type emuDriver struct {
	kernels map[string]kernelID
	names   []string
	events  []time.Time
	streams int
}

func (d *emuDriver) deviceName() (string, int64, error) {
	return fmt.Sprintf("cudaemu: kernels/cohort.cu (%d bytes) on the CPU", len(emuSource)), 4 << 30, nil
}
func (d *emuDriver) maxSharedPerBlock() int { return 48 << 10 }
func (d *emuDriver) multiprocessors() int   { return 2 }
func (d *emuDriver) bind() error            { return nil }
func (d *emuDriver) memInfo() (int64, int64, error) {
	return 4 << 30, 4 << 30, nil
}

func (d *emuDriver) alloc(bytes int64) (devPtr, error) {
	p := C.cohort_emu_alloc(C.uint64_t(bytes))
	if p == 0 {
		return 0, fmt.Errorf("cudaemu: cannot allocate %d bytes", bytes)
	}
	return devPtr(p), nil
}

func (d *emuDriver) free(p devPtr) error { C.cohort_emu_free(C.uint64_t(p)); return nil }

func (d *emuDriver) allocHost(bytes int64) (unsafe.Pointer, error) {
	p := C.malloc(C.size_t(bytes))
	if p == nil {
		return nil, fmt.Errorf("cudaemu: cannot allocate %d host bytes", bytes)
	}
	return p, nil
}

func (d *emuDriver) freeHost(p unsafe.Pointer) error { C.free(p); return nil }

func (d *emuDriver) newStream() (streamID, error) {
	d.streams++
	return streamID(d.streams), nil
}

func (d *emuDriver) newEvent(bool) (eventID, error) {
	d.events = append(d.events, time.Time{})
	return eventID(len(d.events) - 1), nil
}

func (d *emuDriver) h2d(dst devPtr, src unsafe.Pointer, bytes int64, _ streamID) error {
	C.cohort_emu_h2d(C.uint64_t(dst), src, C.uint64_t(bytes))
	return nil
}

func (d *emuDriver) d2h(dst unsafe.Pointer, src devPtr, bytes int64, _ streamID) error {
	C.cohort_emu_d2h(dst, C.uint64_t(src), C.uint64_t(bytes))
	return nil
}

func (d *emuDriver) d2d(dst, src devPtr, bytes int64, _ streamID) error {
	C.cohort_emu_d2d(C.uint64_t(dst), C.uint64_t(src), C.uint64_t(bytes))
	return nil
}

func (d *emuDriver) memsetD32(dst devPtr, v uint32, n int64, _ streamID) error {
	C.cohort_emu_memset32(C.uint64_t(dst), C.uint32_t(v), C.uint64_t(n))
	return nil
}

func (d *emuDriver) record(e eventID, _ streamID) error { d.events[e] = time.Now(); return nil }
func (d *emuDriver) wait(streamID, eventID) error       { return nil }
func (d *emuDriver) syncEvent(eventID) error            { return nil }
func (d *emuDriver) syncStream(streamID) error          { return nil }

func (d *emuDriver) elapsed(start, end eventID) (float64, error) {
	return float64(d.events[end].Sub(d.events[start]).Nanoseconds()) / 1e6, nil
}

func (d *emuDriver) kernel(name string) (kernelID, error) {
	cs := C.CString(name)
	defer C.free(unsafe.Pointer(cs))
	if C.cohort_emu_has_kernel(cs) == 0 {
		return 0, fmt.Errorf("cudaemu: no kernel %s", name)
	}
	d.names = append(d.names, name)
	d.kernels[name] = kernelID(len(d.names) - 1)
	return d.kernels[name], nil
}

func (d *emuDriver) launch(k kernelID, grid [3]int, block, shared int, _ streamID, args []uint64) error {
	cs := C.CString(d.names[k])
	defer C.free(unsafe.Pointer(cs))
	var argp *C.uint64_t
	if len(args) > 0 {
		argp = (*C.uint64_t)(unsafe.Pointer(&args[0]))
	}
	if rc := C.cohort_emu_launch(cs, C.int(grid[0]), C.int(grid[1]), C.int(grid[2]), C.int(block), C.int(shared), argp, C.int(len(args))); rc != 0 {
		return fmt.Errorf("cudaemu: launch of %s with %d arguments failed (%d)", d.names[k], len(args), rc)
	}
	return nil
}

func (d *emuDriver) close() error { return nil }
