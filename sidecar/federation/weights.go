package federation

import (
	"fmt"

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
	if err := f.Tensors.SameLayout(template); err != nil {
		return nil, err
	}
	for name, t := range f.Tensors {
		if err := t.CheckFinite(); err != nil {
			return nil, fmt.Errorf("federation: %s: %w", name, err)
		}
	}
	return f.Tensors, nil
}
