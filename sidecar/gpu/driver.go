//go:build cuda || cudaemu

package gpu

import "unsafe"

// devPtr is a device address.
type devPtr uintptr

// Handles of a driver's streams, events and kernels.
type (
	streamID int
	eventID  int
	kernelID int
)

// driver is the part of the CUDA driver API the device backend uses.
// driver_cuda.go implements it with gorgonia.org/cu (the cuda tag);
// driver_emu.go with host memory and the kernels of kernels/cohort.cu
// compiled for the CPU (the cudaemu tag, for testing without a GPU).
// Asynchronous calls are queued on a stream in order; a driver may also
// run them at once (the emulation does), which is one valid schedule.
type driver interface {
	// deviceName is the device's name and total memory in bytes.
	deviceName() (string, int64, error)
	// maxSharedPerBlock is the dynamic shared memory a block may use
	// without opting in; multiprocessors the device's SM count.
	maxSharedPerBlock() int
	multiprocessors() int
	// bind makes the device's context current on this OS thread (the
	// caller has locked the goroutine to it).
	bind() error
	memInfo() (free, total int64, err error)
	alloc(bytes int64) (devPtr, error)
	free(p devPtr) error
	// allocHost returns page-locked host memory.
	allocHost(bytes int64) (unsafe.Pointer, error)
	freeHost(p unsafe.Pointer) error
	newStream() (streamID, error)
	// newEvent returns an event; timing events can be measured with elapsed.
	newEvent(timing bool) (eventID, error)
	h2d(dst devPtr, src unsafe.Pointer, bytes int64, s streamID) error
	d2h(dst unsafe.Pointer, src devPtr, bytes int64, s streamID) error
	d2d(dst, src devPtr, bytes int64, s streamID) error
	memsetD32(dst devPtr, v uint32, n int64, s streamID) error
	record(e eventID, s streamID) error
	// wait makes stream s wait for the work before e's last record.
	wait(s streamID, e eventID) error
	syncEvent(e eventID) error
	syncStream(s streamID) error
	// elapsed is the time in milliseconds between two recorded timing events.
	elapsed(start, end eventID) (float64, error)
	kernel(name string) (kernelID, error)
	// launch queues a kernel: every argument is 64 bits wide.
	launch(k kernelID, grid [3]int, block, shared int, s streamID, args []uint64) error
	close() error
}
