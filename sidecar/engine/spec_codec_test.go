package engine

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSpecEncodeIsCanonical(t *testing.T) {
	b, err := smallCNN.Encode()
	require.NoError(t, err)
	require.Equal(t, `{"input":[2,7,6],"layers":[{"kind":"conv2d","filters":3,"kernel":3,"stride":2,"padding":1},{"kind":"relu"},`+
		`{"kind":"maxpool2d","stride":1,"size":2},{"kind":"conv2d","filters":2,"kernel":2,"stride":1},{"kind":"flatten"},`+
		`{"kind":"dropout","rate":0.3},{"kind":"dense","inputs":4,"outputs":3}]}`, string(b))
	back, err := DecodeSpec(b)
	require.NoError(t, err)
	require.Equal(t, smallCNN, back)

	// Field order and whitespace do not matter; the canonical bytes and
	// hash are the same.
	loose := []byte(` { "layers": [ {"outputs": 5, "inputs": 100, "kind": "dense"}, {"kind":"relu"}, {"kind":"dense","inputs":5,"outputs":2} ] } `)
	s, err := DecodeSpec(loose)
	require.NoError(t, err)
	withInput := s
	withInput.Input = []int{100}
	h1, err := s.SpecHash()
	require.NoError(t, err)
	h2, err := withInput.SpecHash()
	require.NoError(t, err)
	require.Equal(t, h1, h2, "a flat input equal to the first dense layer's inputs is implied")
	enc, err := withInput.Encode()
	require.NoError(t, err)
	require.Equal(t, `{"layers":[{"kind":"dense","inputs":100,"outputs":5},{"kind":"relu"},{"kind":"dense","inputs":5,"outputs":2}]}`, string(enc))

	other := smallCNN
	other.Layers = append([]LayerSpec(nil), smallCNN.Layers...)
	other.Layers[5].Rate = 0.5
	h3, err := other.SpecHash()
	require.NoError(t, err)
	h4, err := smallCNN.SpecHash()
	require.NoError(t, err)
	require.NotEqual(t, h3, h4)
}

func TestDecodeSpecRejects(t *testing.T) {
	for name, in := range map[string]string{
		"not JSON":          `layers`,
		"unknown field":     `{"layers":[{"kind":"relu","activation":"x"}]}`,
		"unknown top field": `{"layers":[{"kind":"dense","inputs":1,"outputs":1}],"name":"m"}`,
		"trailing data":     `{"layers":[{"kind":"dense","inputs":1,"outputs":1}]} {}`,
		"invalid spec":      `{"layers":[{"kind":"dense","inputs":1,"outputs":1},{"kind":"dense","inputs":2,"outputs":1}]}`,
		"no layers":         `{"layers":[]}`,
		"wrong type":        `{"layers":[{"kind":"dense","inputs":"1","outputs":1}]}`,
		"fractional size":   `{"layers":[{"kind":"dense","inputs":1.5,"outputs":1}]}`,
		"array":             `[]`,
	} {
		_, err := DecodeSpec([]byte(in))
		require.Error(t, err, name)
	}
	_, err := DecodeSpec(make([]byte, MaxSpecBytes+1))
	require.ErrorContains(t, err, "more than")
}

// FuzzDecodeSpec: whatever the bytes, DecodeSpec returns a valid spec or
// an error and never panics; what it accepts encodes canonically, decodes
// back to the same model, and can be initialised.
func FuzzDecodeSpec(f *testing.F) {
	for _, s := range []Spec{smallCNN, mlp} {
		b, _ := s.Encode()
		f.Add(b)
	}
	f.Add([]byte(`{"input":[1,4,4],"layers":[{"kind":"maxpool2d","size":2,"stride":2},{"kind":"flatten"}]}`))
	f.Add([]byte(`{"layers":[{"kind":"dense","inputs":3,"outputs":2,"rate":1e309}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := DecodeSpec(b)
		if err != nil {
			return
		}
		enc, err := s.Encode()
		if err != nil {
			t.Fatalf("accepted spec does not encode: %v", err)
		}
		back, err := DecodeSpec(enc)
		if err != nil {
			t.Fatalf("canonical encoding does not decode: %v", err)
		}
		again, _ := back.Encode()
		if string(again) != string(enc) {
			t.Fatalf("encoding is not canonical: %s vs %s", enc, again)
		}
		if s.Params() <= 1<<20 {
			if _, err := Init(s, 1); err != nil {
				t.Fatalf("valid spec does not initialise: %v", err)
			}
		}
	})
}
