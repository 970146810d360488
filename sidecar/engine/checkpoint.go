package engine

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"unsafe"

	"github.com/cohortchain/cohort/sidecar/tensor"
)

// Optimizer kinds of an OptimizerState.
const (
	OptimizerSGD  = "sgd"
	OptimizerAdam = "adam"
)

// OptimizerState is everything an optimizer carries from one step to the
// next, besides its hyperparameters: SGD's velocity, or Adam's moments
// and the running powers of its β. A tensor missing from a set means
// zeros (the state before the first step), which steps bit for bit like a
// fresh optimizer.
type OptimizerState struct {
	Kind     string
	Velocity tensor.Set // sgd
	M, V     tensor.Set // adam
	P1, P2   float64    // adam: β1^t and β2^t (1 before the first step)
}

// Checkpoint is the complete state of a training run between two steps:
// the weights, the optimizer's state and the number of steps done. Step
// Step (0-based) of the run continues from it, and nothing else is needed
// to run it (with the run's data, hyperparameters and seed). The
// verification leaf of step s is the Hash of the checkpoint after it
// (Step = s+1).
type Checkpoint struct {
	Step      uint64
	Weights   tensor.Set
	Optimizer OptimizerState
}

// InitialCheckpoint is the checkpoint before step 0 of a run from weights
// w with the named optimizer ("adam", anything else SGD): no state yet.
func InitialCheckpoint(w tensor.Set, optimizer string) Checkpoint {
	st := OptimizerState{Kind: OptimizerSGD}
	if optimizer == OptimizerAdam {
		st = OptimizerState{Kind: OptimizerAdam, P1: 1, P2: 1}
	}
	return Checkpoint{Weights: cloneSet(w), Optimizer: st}
}

// State returns SGD's velocity (shared, not copied).
func (o *SGD) State() OptimizerState {
	return OptimizerState{Kind: OptimizerSGD, Velocity: o.velocity}
}

// State returns Adam's moments and powers (shared, not copied).
func (o *Adam) State() OptimizerState {
	if o.m == nil {
		return OptimizerState{Kind: OptimizerAdam, P1: 1, P2: 1}
	}
	return OptimizerState{Kind: OptimizerAdam, M: o.m, V: o.v, P1: o.p1, P2: o.p2}
}

// restore returns the optimizer of cfg continuing from st (copied), with
// every state tensor of w's layout present (zeros where st has none).
func restore(cfg TrainConfig, st OptimizerState, w tensor.Set) (Optimizer, error) {
	want := OptimizerSGD
	if cfg.Optimizer == OptimizerAdam {
		want = OptimizerAdam
	}
	if st.Kind != want {
		return nil, fmt.Errorf("engine: checkpoint holds %q optimizer state, the run uses %q", st.Kind, want)
	}
	if want == OptimizerAdam {
		o := NewAdam(cfg.LearningRate)
		o.m, o.v, o.p1, o.p2 = dense(st.M, w), dense(st.V, w), st.P1, st.P2
		return o, nil
	}
	return &SGD{LearningRate: cfg.LearningRate, Momentum: cfg.Momentum, velocity: dense(st.Velocity, w)}, nil
}

// dense copies s over w's layout, with zeros for tensors s lacks.
func dense(s, w tensor.Set) tensor.Set {
	out := tensor.Set{}
	for name, t := range w {
		d := make([]float32, len(t.Data))
		if st, ok := s[name]; ok {
			copy(d, st.Data)
		}
		out[name] = tensor.Tensor{Shape: append([]int(nil), t.Shape...), Data: d}
	}
	return out
}

func cloneSet(s tensor.Set) tensor.Set {
	out := tensor.Set{}
	for name, t := range s {
		out[name] = tensor.Tensor{Shape: append([]int(nil), t.Shape...), Data: append([]float32(nil), t.Data...)}
	}
	return out
}

// Clone is a deep copy of c.
func (c Checkpoint) Clone() Checkpoint {
	out := Checkpoint{Step: c.Step, Weights: cloneSet(c.Weights), Optimizer: OptimizerState{Kind: c.Optimizer.Kind, P1: c.Optimizer.P1, P2: c.Optimizer.P2}}
	if c.Optimizer.Velocity != nil {
		out.Optimizer.Velocity = cloneSet(c.Optimizer.Velocity)
	}
	if c.Optimizer.M != nil {
		out.Optimizer.M, out.Optimizer.V = cloneSet(c.Optimizer.M), cloneSet(c.Optimizer.V)
	}
	return out
}

const checkpointMagic = "cohort-checkpoint-v1"

// littleEndian is whether float32s lie in memory as their little-endian
// bits, so that encoding may copy them as they are.
var littleEndian = func() bool {
	x := uint32(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()

// WriteTo writes c's canonical encoding, all integers little-endian:
//
//	"cohort-checkpoint-v1"
//	uint64 step
//	uint64 len(kind), kind ("sgd" or "adam")
//	float64 bits of P1, of P2 (0 and 0 for sgd)
//	the weights as a tensor set
//	sgd: the velocity; adam: M, then V; each a tensor set over the
//	weights' names and shapes, zeros where the state has none
//
// A tensor set is laid out as tensor.Set.Hash reads it: "cohort-tensors-v1",
// uint64 count, and per tensor in byte-wise name order uint64 len(name),
// name, uint64 rank, uint64 each dimension, uint64 elements, each element's
// float32 bits. Equal states encode equal, whatever the maps' order or
// whether zero state was materialised.
func (c Checkpoint) WriteTo(w io.Writer) (int64, error) {
	cw := &countWriter{w: w}
	u64 := func(v uint64) { cw.u64(v) }
	cw.write([]byte(checkpointMagic))
	u64(c.Step)
	u64(uint64(len(c.Optimizer.Kind)))
	cw.write([]byte(c.Optimizer.Kind))
	p1, p2 := c.Optimizer.P1, c.Optimizer.P2
	if c.Optimizer.Kind != OptimizerAdam {
		p1, p2 = 0, 0
	}
	u64(math.Float64bits(p1))
	u64(math.Float64bits(p2))
	writeSet(cw, c.Weights, c.Weights)
	switch c.Optimizer.Kind {
	case OptimizerAdam:
		writeSet(cw, c.Weights, orEmpty(c.Optimizer.M))
		writeSet(cw, c.Weights, orEmpty(c.Optimizer.V))
	default:
		writeSet(cw, c.Weights, orEmpty(c.Optimizer.Velocity))
	}
	return cw.n, cw.err
}

// Hash is the sha256 of c's canonical encoding: a verification leaf.
func (c Checkpoint) Hash() ([32]byte, error) {
	if err := c.check(); err != nil {
		return [32]byte{}, err
	}
	h := sha256.New()
	if _, err := c.WriteTo(h); err != nil {
		return [32]byte{}, err
	}
	var out [32]byte
	copy(out[:], h.Sum(nil))
	return out, nil
}

// Encode returns c's canonical encoding (see WriteTo); its sha256 is Hash.
func (c Checkpoint) Encode() ([]byte, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	_, err := c.WriteTo(&b)
	return b.Bytes(), err
}

// check verifies that every state tensor matches the weights' layout.
func (c Checkpoint) check() error {
	for _, s := range []tensor.Set{c.Optimizer.Velocity, c.Optimizer.M, c.Optimizer.V} {
		for name, t := range s {
			w, ok := c.Weights[name]
			if !ok || len(w.Data) != len(t.Data) {
				return fmt.Errorf("engine: optimizer state %q does not match the weights", name)
			}
		}
	}
	if c.Optimizer.Kind != OptimizerSGD && c.Optimizer.Kind != OptimizerAdam {
		return fmt.Errorf("engine: optimizer kind %q", c.Optimizer.Kind)
	}
	return nil
}

// orEmpty is s, or an empty set for nil (all zeros to writeSet).
func orEmpty(s tensor.Set) tensor.Set {
	if s == nil {
		return tensor.Set{}
	}
	return s
}

// writeSet writes layout's names and shapes with the values of vals (a
// tensor vals lacks: zeros).
func writeSet(cw *countWriter, layout, vals tensor.Set) {
	cw.write([]byte("cohort-tensors-v1"))
	cw.u64(uint64(len(layout)))
	chunk := make([]byte, 0, 4*4096)
	for _, name := range layout.Names() {
		t := layout[name]
		var data []float32
		if v, ok := vals[name]; ok {
			data = v.Data
			if len(data) != len(t.Data) {
				data = nil // check refuses this; never read past it
			}
		}
		cw.u64(uint64(len(name)))
		cw.write([]byte(name))
		cw.u64(uint64(len(t.Shape)))
		for _, d := range t.Shape {
			cw.u64(uint64(d))
		}
		cw.u64(uint64(len(t.Data)))
		if littleEndian && data != nil {
			// The float32s' memory is their little-endian bits already.
			cw.write(unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(data))), 4*len(data)))
			continue
		}
		for i := 0; i < len(t.Data); i += 4096 {
			chunk = chunk[:0]
			for j := i; j < min(i+4096, len(t.Data)); j++ {
				var v float32
				if data != nil {
					v = data[j]
				}
				chunk = binary.LittleEndian.AppendUint32(chunk, math.Float32bits(v))
			}
			cw.write(chunk)
		}
	}
}

type countWriter struct {
	w   io.Writer
	n   int64
	err error
	buf [8]byte
}

func (c *countWriter) write(b []byte) {
	if c.err != nil {
		return
	}
	n, err := c.w.Write(b)
	c.n += int64(n)
	c.err = err
}

func (c *countWriter) u64(v uint64) {
	binary.LittleEndian.PutUint64(c.buf[:], v)
	c.write(c.buf[:])
}

// DecodeCheckpoint reads a canonical checkpoint encoding of a model of
// spec s; it refuses anything that is not exactly one (so the sha256 of b
// is the decoded checkpoint's Hash).
func DecodeCheckpoint(b []byte, s Spec) (Checkpoint, error) {
	shapes, err := s.Shapes()
	if err != nil {
		return Checkpoint{}, err
	}
	template := tensor.Set{} // names and shapes only
	for _, ns := range weightShapes(s, shapes) {
		template[ns.name] = tensor.Tensor{Shape: ns.shape}
	}
	r := &reader{b: b}
	if string(r.bytes(len(checkpointMagic))) != checkpointMagic {
		return Checkpoint{}, errors.New("engine: not a checkpoint")
	}
	c := Checkpoint{Step: r.u64()}
	kl := r.u64()
	if kl > 16 {
		return Checkpoint{}, errors.New("engine: checkpoint optimizer kind too long")
	}
	c.Optimizer.Kind = string(r.bytes(int(kl)))
	c.Optimizer.P1 = math.Float64frombits(r.u64())
	c.Optimizer.P2 = math.Float64frombits(r.u64())
	c.Weights = r.set(template)
	switch c.Optimizer.Kind {
	case OptimizerAdam:
		c.Optimizer.M, c.Optimizer.V = r.set(template), r.set(template)
	case OptimizerSGD:
		c.Optimizer.Velocity = r.set(template)
	default:
		return Checkpoint{}, fmt.Errorf("engine: checkpoint optimizer kind %q", c.Optimizer.Kind)
	}
	if r.err != nil {
		return Checkpoint{}, fmt.Errorf("engine: checkpoint: %w", r.err)
	}
	if r.off != len(b) {
		return Checkpoint{}, fmt.Errorf("engine: checkpoint has %d trailing bytes", len(b)-r.off)
	}
	return c, nil
}

type reader struct {
	b   []byte
	off int
	err error
}

func (r *reader) bytes(n int) []byte {
	if r.err != nil || n < 0 || r.off+n > len(r.b) {
		if r.err == nil {
			r.err = io.ErrUnexpectedEOF
		}
		return nil
	}
	out := r.b[r.off : r.off+n]
	r.off += n
	return out
}

func (r *reader) u64() uint64 {
	b := r.bytes(8)
	if b == nil {
		return 0
	}
	return binary.LittleEndian.Uint64(b)
}

// set reads a tensor set that must have template's names and shapes
// (template's data is not read).
func (r *reader) set(template tensor.Set) tensor.Set {
	if string(r.bytes(len("cohort-tensors-v1"))) != "cohort-tensors-v1" && r.err == nil {
		r.err = errors.New("bad tensor set header")
	}
	if n := r.u64(); r.err == nil && n != uint64(len(template)) {
		r.err = fmt.Errorf("%d tensors, want %d", n, len(template))
	}
	out := tensor.Set{}
	for _, name := range template.Names() {
		t := template[name]
		if r.err != nil {
			return nil
		}
		if l := r.u64(); l != uint64(len(name)) || string(r.bytes(len(name))) != name {
			if r.err == nil {
				r.err = fmt.Errorf("tensor %q missing", name)
			}
			return nil
		}
		if rank := r.u64(); rank != uint64(len(t.Shape)) {
			r.err = fmt.Errorf("tensor %q: rank %d", name, rank)
			return nil
		}
		for _, d := range t.Shape {
			if r.u64() != uint64(d) {
				r.err = fmt.Errorf("tensor %q: shape differs", name)
				return nil
			}
		}
		elems := prod(t.Shape)
		if n := r.u64(); n != uint64(elems) {
			r.err = fmt.Errorf("tensor %q: %d elements", name, n)
			return nil
		}
		raw := r.bytes(4 * elems)
		if raw == nil {
			return nil
		}
		d := make([]float32, elems)
		if littleEndian {
			copy(unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(d))), 4*elems), raw)
		} else {
			for i := range d {
				d[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
			}
		}
		out[name] = tensor.Tensor{Shape: append([]int(nil), t.Shape...), Data: d}
	}
	return out
}
