package gpu

import (
	"errors"
	"fmt"

	"github.com/cohortchain/cohort/sidecar/aggregate"
	"github.com/cohortchain/cohort/sidecar/engine"
	"github.com/cohortchain/cohort/sidecar/tensor"
)

// Backend computes the engine's layer operations and the aggregation
// rules. Every backend gives the bits the CPU code (packages engine and
// aggregate) gives, for every input; see the package documentation.
//
// Slices passed in are only read; results are new slices, except that
// the aggregation methods write into dst when cap(dst) is large enough,
// as aggregate.Rule does. A Backend is safe for concurrent use (the CUDA
// backend serialises calls).
type Backend interface {
	// Name is "cpu" or "cuda: <device name>, <memory>".
	Name() string
	// Close releases the device, its buffers and its module.
	Close() error

	// Aggregation: each equals the aggregate rule of the same name.
	FedAvg(dst []float32, updates []aggregate.Update) ([]float32, error)
	Median(dst []float32, updates []aggregate.Update) ([]float32, error)
	TrimmedMean(dst []float32, updates []aggregate.Update, beta float64) ([]float32, error)
	Krum(dst []float32, updates []aggregate.Update, f, multi int) ([]float32, error)
	Bulyan(dst []float32, updates []aggregate.Update, f int) ([]float32, error)
	GeometricMedian(dst []float32, updates []aggregate.Update, iterations int) ([]float32, error)
	CenteredClipping(dst []float32, updates []aggregate.Update, tau float64, iterations int) ([]float32, error)
	// PairwiseSqDist returns the n×n matrix (row-major, zero diagonal) of
	// squared distances between the updates that Krum and Bulyan score,
	// each summed in coordinate order in float64 as aggregate does.
	PairwiseSqDist(updates []aggregate.Update) ([]float64, error)
	// Aggregate runs rule: the rules above on the backend, any other
	// rule on the CPU through rule.Aggregate.
	Aggregate(rule aggregate.Rule, dst []float32, updates []aggregate.Update) ([]float32, error)

	// Layer operations, in the engine's layouts (row-major, NCHW) and
	// summation orders.
	DenseForward(x []float32, batch, in, out int, w, b []float32) ([]float32, error)
	DenseBackward(x, dy []float32, batch, in, out int, w []float32, needDX bool) (dw, db, dx []float32, err error)
	Conv2DForward(x []float32, batch int, g ConvGeom, w, b []float32) ([]float32, error)
	Conv2DBackward(x, dy []float32, batch int, g ConvGeom, w []float32, needDX bool) (dw, db, dx []float32, err error)
	MaxPool2DForward(x []float32, batch int, g PoolGeom) (y []float32, argmax []int32, err error)
	MaxPool2DBackward(dy []float32, argmax []int32, batch int, g PoolGeom) ([]float32, error)
	ReLUForward(x []float32) ([]float32, error)
	ReLUBackward(x, dy []float32) ([]float32, error)
	SoftmaxCrossEntropy(logits []float32, labels []int, classes int) (float32, []float32, error)
	// Exp and Log apply engine.Exp and engine.Log to every value.
	Exp(x []float32) ([]float32, error)
	Log(x []float32) ([]float32, error)

	// Gradients is engine.Gradients (drop nil) or
	// engine.GradientsWithDropout (drop set): the loss of a batch and the
	// gradient of every weight, the whole model run on the backend.
	Gradients(s engine.Spec, w tensor.Set, x []float32, labels []int, drop *Dropout) (float32, tensor.Set, error)
}

// Dropout selects training-mode dropout masks: those of step Step of a
// run seeded with Seed (see engine.GradientsWithDropout).
type Dropout struct{ Seed, Step uint64 }

// ConvGeom is a conv2d layer on a [C, H, W] input: F filters of C×K×K,
// stride and zero padding on both axes. Weights are [F, C, K, K].
type ConvGeom struct{ C, H, W, F, K, Stride, Pad int }

// OH is the output height.
func (g ConvGeom) OH() int { return (g.H+2*g.Pad-g.K)/g.Stride + 1 }

// OW is the output width.
func (g ConvGeom) OW() int { return (g.W+2*g.Pad-g.K)/g.Stride + 1 }

func (g ConvGeom) check() error {
	if g.C <= 0 || g.H <= 0 || g.W <= 0 || g.F <= 0 || g.K <= 0 || g.Stride <= 0 || g.Pad < 0 || g.Pad >= g.K ||
		g.K > g.H+2*g.Pad || g.K > g.W+2*g.Pad {
		return fmt.Errorf("%w: conv geometry %+v", ErrShape, g)
	}
	return nil
}

// PoolGeom is a maxpool2d layer on a [C, H, W] input: Size×Size windows
// every Stride values, no padding.
type PoolGeom struct{ C, H, W, Size, Stride int }

// OH is the output height.
func (g PoolGeom) OH() int { return (g.H-g.Size)/g.Stride + 1 }

// OW is the output width.
func (g PoolGeom) OW() int { return (g.W-g.Size)/g.Stride + 1 }

func (g PoolGeom) check() error {
	if g.C <= 0 || g.H <= 0 || g.W <= 0 || g.Size <= 0 || g.Stride <= 0 || g.Size > g.H || g.Size > g.W {
		return fmt.Errorf("%w: pool geometry %+v", ErrShape, g)
	}
	return nil
}

// ConvGeomOf and PoolGeomOf read a layer's geometry from its spec and
// input shape [C, H, W].
func ConvGeomOf(l engine.LayerSpec, in []int) ConvGeom {
	return ConvGeom{C: in[0], H: in[1], W: in[2], F: l.Filters, K: l.Kernel, Stride: l.Stride, Pad: l.Padding}
}

// PoolGeomOf: see ConvGeomOf.
func PoolGeomOf(l engine.LayerSpec, in []int) PoolGeom {
	return PoolGeom{C: in[0], H: in[1], W: in[2], Size: l.Size, Stride: l.Stride}
}

// Errors.
var (
	// ErrShape is returned when operands do not fit the stated sizes.
	ErrShape = errors.New("gpu: operand shapes do not match")
	// ErrClosed is returned by a closed backend.
	ErrClosed = errors.New("gpu: backend closed")
	// ErrNoDevice is returned by Open in a cuda build on a host without a
	// usable CUDA device.
	ErrNoDevice = errors.New("gpu: no CUDA device")
)

// Rule wraps an aggregation rule so that it runs on b: a drop-in
// aggregate.Rule with the same name and the same results.
func Rule(b Backend, r aggregate.Rule) aggregate.Rule { return backendRule{b, r} }

type backendRule struct {
	b Backend
	r aggregate.Rule
}

func (r backendRule) Name() string { return r.r.Name() }

func (r backendRule) Aggregate(dst []float32, updates []aggregate.Update) ([]float32, error) {
	return r.b.Aggregate(r.r, dst, updates)
}

// need checks that a slice has the length an operation needs.
func need(what string, v []float32, n int) error {
	if len(v) != n {
		return fmt.Errorf("%w: %s has %d values, want %d", ErrShape, what, len(v), n)
	}
	return nil
}

// positive checks sizes.
func positive(sizes ...int) error {
	for _, s := range sizes {
		if s <= 0 {
			return fmt.Errorf("%w: sizes %v must be positive", ErrShape, sizes)
		}
	}
	return nil
}

// output returns dst[:d] when dst can hold d values, else a new slice (as
// aggregate does).
func output(dst []float32, d int) []float32 {
	if cap(dst) >= d {
		return dst[:d]
	}
	return make([]float32, d)
}
