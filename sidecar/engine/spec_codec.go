package engine

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"slices"
)

// SpecFormat names the engine's spec encoding where the registry records
// an architecture by format and hash (Architecture.spec_format and
// spec_hash): spec_hash is SpecHash of the spec.
const SpecFormat = "cohort-engine-spec/v1"

// MaxSpecBytes bounds an encoded spec that DecodeSpec will read.
const MaxSpecBytes = 64 << 10

// Canonical returns s in canonical form: a flat input shape equal to the
// first dense layer's inputs is left out (it says nothing the layer does
// not), and dropout layers of rate 0 keep their place (they are part of
// the architecture). Two specs describe the same model exactly when their
// canonical forms are equal. s must be valid.
func (s Spec) Canonical() Spec {
	c := Spec{Layers: slices.Clone(s.Layers)}
	if !(len(s.Input) == 1 && len(s.Layers) > 0 && s.Layers[0].Kind == KindDense && s.Layers[0].Inputs == s.Input[0]) {
		c.Input = slices.Clone(s.Input)
	}
	return c
}

// Encode returns the canonical encoding of a valid spec: compact JSON of
// its canonical form, fields in the order LayerSpec declares them, unset
// fields left out (a rate is written in the shortest form that reads back
// to the same float64). The same model always encodes to the same bytes, which
// is what SpecHash hashes.
func (s Spec) Encode() ([]byte, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return json.Marshal(s.Canonical())
}

// SpecHash is the sha256 of s's canonical encoding: the spec_hash the
// registry stores for SpecFormat.
func (s Spec) SpecHash() ([32]byte, error) {
	b, err := s.Encode()
	if err != nil {
		return [32]byte{}, err
	}
	return sha256.Sum256(b), nil
}

// DecodeSpec parses an encoded spec strictly: at most MaxSpecBytes, one
// JSON object, no unknown fields, no trailing data, and a spec that
// Validate accepts. It accepts any field order and whitespace; Encode of
// the result gives the canonical bytes.
func DecodeSpec(b []byte) (Spec, error) {
	if len(b) > MaxSpecBytes {
		return Spec{}, fmt.Errorf("engine: spec of %d bytes, more than %d", len(b), MaxSpecBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var s Spec
	if err := dec.Decode(&s); err != nil {
		return Spec{}, fmt.Errorf("engine: spec is not a valid JSON spec: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return Spec{}, fmt.Errorf("engine: trailing data after the spec")
	}
	if err := s.Validate(); err != nil {
		return Spec{}, err
	}
	return s, nil
}
