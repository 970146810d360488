// Package safetensors reads and writes the safetensors weights format:
// an 8-byte little-endian header length, a JSON header naming each
// tensor's dtype, shape and byte range, then the raw little-endian data.
// Only F32 tensors are supported; anything malformed is an error, never a
// panic.
package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"

	"github.com/cohortchain/cohort/sidecar/tensor"
)

// MaxHeaderBytes bounds the JSON header (the format's own limit is 100 MB).
const MaxHeaderBytes = 100 << 20

// metadataKey is the reserved header entry for free-form string metadata.
const metadataKey = "__metadata__"

type entry struct {
	Dtype       string   `json:"dtype"`
	Shape       []int    `json:"shape"`
	DataOffsets [2]int64 `json:"data_offsets"`
}

// File is a decoded safetensors file.
type File struct {
	Tensors  tensor.Set
	Metadata map[string]string
}

// Decode parses a whole safetensors file held in memory.
func Decode(b []byte) (File, error) {
	if len(b) < 8 {
		return File{}, fmt.Errorf("safetensors: %d bytes, shorter than the 8-byte header length", len(b))
	}
	n := binary.LittleEndian.Uint64(b[:8])
	if n > MaxHeaderBytes || n > uint64(len(b)-8) {
		return File{}, fmt.Errorf("safetensors: header length %d exceeds the file (%d bytes) or %d", n, len(b), MaxHeaderBytes)
	}
	header, data := b[8:8+n], b[8+n:]

	var raw map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(header))
	if err := dec.Decode(&raw); err != nil {
		return File{}, fmt.Errorf("safetensors: header is not a JSON object: %w", err)
	}
	f := File{Tensors: tensor.Set{}}
	type span struct {
		name       string
		begin, end int64
	}
	var spans []span
	for name, msg := range raw {
		if name == metadataKey {
			if err := json.Unmarshal(msg, &f.Metadata); err != nil {
				return File{}, fmt.Errorf("safetensors: __metadata__ must map strings to strings: %w", err)
			}
			continue
		}
		var e entry
		d := json.NewDecoder(bytes.NewReader(msg))
		d.DisallowUnknownFields()
		if err := d.Decode(&e); err != nil {
			return File{}, fmt.Errorf("safetensors: tensor %q: %w", name, err)
		}
		if e.Dtype != "F32" {
			return File{}, fmt.Errorf("safetensors: tensor %q has dtype %q; only F32 is supported", name, e.Dtype)
		}
		count, err := tensor.Elements(e.Shape)
		if err != nil {
			return File{}, fmt.Errorf("safetensors: tensor %q: %w", name, err)
		}
		begin, end := e.DataOffsets[0], e.DataOffsets[1]
		if begin < 0 || end < begin || end > int64(len(data)) {
			return File{}, fmt.Errorf("safetensors: tensor %q: offsets [%d, %d] outside the %d data bytes", name, begin, end, len(data))
		}
		if end-begin != int64(count)*4 {
			return File{}, fmt.Errorf("safetensors: tensor %q: shape %v needs %d bytes, offsets give %d", name, e.Shape, count*4, end-begin)
		}
		t := tensor.Tensor{Shape: e.Shape, Data: make([]float32, count)}
		for i := range t.Data {
			t.Data[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[begin+int64(4*i):]))
		}
		f.Tensors[name] = t
		spans = append(spans, span{name, begin, end})
	}
	// The data section is the tensors back to back: no overlap, no hole.
	sort.Slice(spans, func(i, j int) bool { return spans[i].begin < spans[j].begin })
	var at int64
	for _, s := range spans {
		if s.begin != at {
			return File{}, fmt.Errorf("safetensors: tensor %q starts at byte %d, expected %d (overlap or hole)", s.name, s.begin, at)
		}
		at = s.end
	}
	if at != int64(len(data)) {
		return File{}, fmt.Errorf("safetensors: %d trailing data bytes", int64(len(data))-at)
	}
	return f, nil
}

// Encode writes tensors (and optional metadata) as safetensors, in
// byte-wise order of names, so that equal sets give equal files.
func Encode(tensors tensor.Set, metadata map[string]string) ([]byte, error) {
	names := tensors.Names()
	header := map[string]any{}
	if len(metadata) > 0 {
		header[metadataKey] = metadata
	}
	var offset int64
	for _, name := range names {
		if name == metadataKey || name == "" {
			return nil, fmt.Errorf("safetensors: %q is not a tensor name", name)
		}
		t := tensors[name]
		if err := t.Validate(); err != nil {
			return nil, fmt.Errorf("safetensors: %s: %w", name, err)
		}
		size := int64(len(t.Data)) * 4
		header[name] = entry{Dtype: "F32", Shape: nonNil(t.Shape), DataOffsets: [2]int64{offset, offset + size}}
		offset += size
	}
	hb, err := json.Marshal(header) // encoding/json sorts map keys
	if err != nil {
		return nil, err
	}
	// Pad the header with spaces to 8 bytes, as the reference writer does.
	for len(hb)%8 != 0 {
		hb = append(hb, ' ')
	}
	out := make([]byte, 8, 8+len(hb)+int(offset))
	binary.LittleEndian.PutUint64(out, uint64(len(hb)))
	out = append(out, hb...)
	for _, name := range names {
		for _, v := range tensors[name].Data {
			out = binary.LittleEndian.AppendUint32(out, math.Float32bits(v))
		}
	}
	return out, nil
}

func nonNil(s []int) []int {
	if s == nil {
		return []int{}
	}
	return slices.Clone(s)
}
