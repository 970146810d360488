package safetensors

import (
	"encoding/binary"
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cohortchain/cohort/sidecar/tensor"
)

func sample() tensor.Set {
	return tensor.Set{
		"dense1.weight": {Shape: []int{2, 3}, Data: []float32{1, -2, 3.5, 0, float32(math.Copysign(0, -1)), 1e-30}},
		"dense1.bias":   {Shape: []int{3}, Data: []float32{0.1, 0.2, 0.3}},
		"scalar":        {Shape: []int{}, Data: []float32{7}},
	}
}

func TestRoundTripBitExact(t *testing.T) {
	in := sample()
	b, err := Encode(in, map[string]string{"format": "pt"})
	require.NoError(t, err)
	f, err := Decode(b)
	require.NoError(t, err)
	require.Equal(t, "pt", f.Metadata["format"])
	h1, _ := in.Hash()
	h2, _ := f.Tensors.Hash()
	require.Equal(t, h1, h2)
	again, err := Encode(f.Tensors, map[string]string{"format": "pt"})
	require.NoError(t, err)
	require.Equal(t, b, again, "encoding is canonical")
}

// header builds a file from a raw JSON header and data bytes.
func header(json string, data []byte) []byte {
	b := make([]byte, 8, 8+len(json)+len(data))
	binary.LittleEndian.PutUint64(b, uint64(len(json)))
	return append(append(b, json...), data...)
}

func TestMalformed(t *testing.T) {
	four := make([]byte, 4)
	huge := make([]byte, 8)
	binary.LittleEndian.PutUint64(huge, 1<<62)
	for name, file := range map[string][]byte{
		"empty":                 {},
		"short":                 {1, 2, 3},
		"header length too big": append(huge, '{', '}'),
		"not json":              header(`nope`, nil),
		"json array":            header(`[1,2]`, nil),
		"unsupported dtype":     header(`{"a":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}`, four),
		"offsets outside":       header(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,8]}}`, four),
		"negative offset":       header(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}}`, four),
		"shape mismatch":        header(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}`, four),
		"negative dimension":    header(`{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}`, four),
		"overlap":               header(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, four),
		"hole":                  header(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, make([]byte, 8)),
		"trailing bytes":        header(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, make([]byte, 8)),
		"unknown field":         header(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":1}}`, four),
		"bad metadata":          header(`{"__metadata__":{"a":1}}`, nil),
		"overflowing shape":     header(`{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}}`, four),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Decode(file)
			require.Error(t, err)
		})
	}
	_, err := Encode(tensor.Set{"__metadata__": {Shape: []int{1}, Data: []float32{1}}}, nil)
	require.Error(t, err)
	_, err = Encode(tensor.Set{"a": {Shape: []int{2}, Data: []float32{1}}}, nil)
	require.Error(t, err)
}

// FuzzDecode: whatever the bytes, Decode returns a file or an error and
// never panics; what it accepts re-encodes to a file that decodes equal.
func FuzzDecode(f *testing.F) {
	good, _ := Encode(sample(), map[string]string{"k": "v"})
	f.Add(good)
	f.Add(header(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, make([]byte, 4)))
	f.Add([]byte{8, 0, 0, 0, 0, 0, 0, 0, '{', '}', ' ', ' ', ' ', ' ', ' ', ' '})
	f.Fuzz(func(t *testing.T, b []byte) {
		file, err := Decode(b)
		if err != nil {
			return
		}
		again, err := Encode(file.Tensors, file.Metadata)
		if err != nil {
			t.Fatalf("decoded file does not re-encode: %v", err)
		}
		back, err := Decode(again)
		if err != nil {
			t.Fatalf("re-encoded file does not decode: %v", err)
		}
		h1, _ := file.Tensors.Hash()
		h2, _ := back.Tensors.Hash()
		if h1 != h2 {
			t.Fatal("round trip changed the tensors")
		}
	})
}
