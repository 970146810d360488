// Package tensor holds the sidecar's float32 tensors and the canonical
// hash by which validators compare results.
package tensor

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
)

// Tensor is a dense float32 tensor in row-major order.
type Tensor struct {
	Shape []int
	Data  []float32
}

// New returns a zero tensor of the given shape.
func New(shape ...int) (Tensor, error) {
	n, err := Elements(shape)
	if err != nil {
		return Tensor{}, err
	}
	return Tensor{Shape: slices.Clone(shape), Data: make([]float32, n)}, nil
}

// MaxElements bounds the size of one tensor (4 GiB of float32).
const MaxElements = 1 << 30

// Elements is the number of elements of a shape, or an error for negative
// dimensions or a size beyond MaxElements.
func Elements(shape []int) (int, error) {
	n := 1
	for i, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("tensor: dimension %d is negative (%d)", i, d)
		}
		if d != 0 && n > MaxElements/d {
			return 0, fmt.Errorf("tensor: shape %v has more than %d elements", shape, MaxElements)
		}
		n *= d
	}
	return n, nil
}

// Validate checks that the data matches the shape.
func (t Tensor) Validate() error {
	n, err := Elements(t.Shape)
	if err != nil {
		return err
	}
	if n != len(t.Data) {
		return fmt.Errorf("tensor: shape %v needs %d elements, has %d", t.Shape, n, len(t.Data))
	}
	return nil
}

// ErrNotFinite is returned for tensors holding NaN or ±Inf.
var ErrNotFinite = errors.New("tensor holds NaN or Inf")

// CheckFinite returns ErrNotFinite, with the first offending index, when
// t holds NaN or ±Inf.
func (t Tensor) CheckFinite() error {
	for i, v := range t.Data {
		// NaN and ±Inf are exactly the float32s whose exponent bits are all ones.
		if math.Float32bits(v)&0x7f800000 == 0x7f800000 {
			return fmt.Errorf("%w: element %d is %v", ErrNotFinite, i, v)
		}
	}
	return nil
}

// Set is a named set of tensors: a model's weights, an update, a gradient.
type Set map[string]Tensor

// Names returns the names in canonical (byte-wise sorted) order.
func (s Set) Names() []string {
	names := make([]string, 0, len(s))
	for n := range s {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Hash is the canonical sha256 of a set of tensors, the value validators
// compare. The byte layout, all integers little-endian:
//
//	"cohort-tensors-v1"
//	uint64 number of tensors
//	for each tensor, in byte-wise order of names:
//	    uint64 len(name), name bytes
//	    uint64 number of dimensions, uint64 each dimension
//	    uint64 number of elements, each element's IEEE-754 float32 bits as uint32
//
// Equal sets hash equal whatever the map order; any difference in a name,
// a shape or a single bit of an element changes the hash. Negative zero and
// NaN payloads are hashed as their bits: bit-identical means identical.
func (s Set) Hash() ([32]byte, error) {
	h := sha256.New()
	var buf [8]byte
	u64 := func(v uint64) {
		binary.LittleEndian.PutUint64(buf[:], v)
		h.Write(buf[:])
	}
	h.Write([]byte("cohort-tensors-v1"))
	u64(uint64(len(s)))
	chunk := make([]byte, 0, 4*4096)
	for _, name := range s.Names() {
		t := s[name]
		if err := t.Validate(); err != nil {
			return [32]byte{}, fmt.Errorf("%s: %w", name, err)
		}
		u64(uint64(len(name)))
		h.Write([]byte(name))
		u64(uint64(len(t.Shape)))
		for _, d := range t.Shape {
			u64(uint64(d))
		}
		u64(uint64(len(t.Data)))
		for i := 0; i < len(t.Data); i += 4096 {
			chunk = chunk[:0]
			for _, v := range t.Data[i:min(i+4096, len(t.Data))] {
				chunk = binary.LittleEndian.AppendUint32(chunk, math.Float32bits(v))
			}
			h.Write(chunk)
		}
	}
	var out [32]byte
	copy(out[:], h.Sum(nil))
	return out, nil
}

// SameLayout reports whether s has exactly ref's tensor names and shapes,
// each tensor valid (data matching its shape).
func (s Set) SameLayout(ref Set) error {
	if len(s) != len(ref) {
		return fmt.Errorf("tensor: %d tensors, want %d", len(s), len(ref))
	}
	for _, name := range ref.Names() {
		t, ok := s[name]
		if !ok {
			return fmt.Errorf("tensor: %q missing", name)
		}
		if !slices.Equal(t.Shape, ref[name].Shape) {
			return fmt.Errorf("tensor: %q has shape %v, want %v", name, t.Shape, ref[name].Shape)
		}
		if err := t.Validate(); err != nil {
			return fmt.Errorf("tensor: %q: %w", name, err)
		}
	}
	return nil
}

// EncodeFloats is v as little-endian float32s: the one byte form of a
// float vector outside the safetensors and checkpoint formats (inference
// bodies and their hashes, residuals, revealed examples).
func EncodeFloats(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(f))
	}
	return b
}

// DecodeFloats reads little-endian float32s (EncodeFloats).
func DecodeFloats(b []byte) ([]float32, error) {
	if len(b)%4 != 0 {
		return nil, fmt.Errorf("tensor: %d bytes are not a whole number of float32", len(b))
	}
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v, nil
}
