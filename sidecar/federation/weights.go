package federation

import (
	"fmt"
	"slices"

	"github.com/cohortchain/cohort/sidecar/safetensors"
	"github.com/cohortchain/cohort/sidecar/tensor"
)

// EncodeWeights is the blob of a weights or update set: safetensors with no
// metadata, tensors in byte-wise name order, so that equal sets give equal
// blobs and the blob's sha256 names the weights.
func EncodeWeights(s tensor.Set) ([]byte, error) { return safetensors.Encode(s, nil) }

// DecodeWeights parses a blob and checks that it holds exactly the tensors
// of template (same names, same shapes), all finite.
func DecodeWeights(blob []byte, template tensor.Set) (tensor.Set, error) {
	f, err := safetensors.Decode(blob)
	if err != nil {
		return nil, err
	}
	if err := SameShapes(f.Tensors, template); err != nil {
		return nil, err
	}
	for name, t := range f.Tensors {
		if err := t.CheckFinite(); err != nil {
			return nil, fmt.Errorf("federation: %s: %w", name, err)
		}
	}
	return f.Tensors, nil
}

// SameShapes reports whether s has exactly template's tensor names and shapes.
func SameShapes(s, template tensor.Set) error {
	if len(s) != len(template) {
		return fmt.Errorf("federation: %d tensors, the model has %d", len(s), len(template))
	}
	for name, t := range template {
		u, ok := s[name]
		if !ok {
			return fmt.Errorf("federation: tensor %q missing", name)
		}
		if !slices.Equal(u.Shape, t.Shape) {
			return fmt.Errorf("federation: tensor %q has shape %v, the model %v", name, u.Shape, t.Shape)
		}
	}
	return nil
}
