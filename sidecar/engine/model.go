package engine

import (
	"fmt"
	"math"

	"github.com/cohortchain/cohort/sidecar/tensor"
)

// LayerSpec is one layer of a model: "dense" (Inputs → Outputs) or "relu".
// It mirrors the registry's architecture layers.
type LayerSpec struct {
	Kind            string
	Inputs, Outputs int
}

// Spec is a model architecture: layers applied in order, ending in logits
// that a softmax cross-entropy loss reads.
type Spec struct{ Layers []LayerSpec }

// Validate checks that the layers chain: each dense layer's inputs equal
// the width before it.
func (s Spec) Validate() error {
	if len(s.Layers) == 0 {
		return fmt.Errorf("engine: a model needs layers")
	}
	width := -1
	for i, l := range s.Layers {
		switch l.Kind {
		case "dense":
			if l.Inputs <= 0 || l.Outputs <= 0 || l.Inputs > 1<<20 || l.Outputs > 1<<20 {
				return fmt.Errorf("engine: layer %d: dense %d→%d out of range", i, l.Inputs, l.Outputs)
			}
			if width >= 0 && l.Inputs != width {
				return fmt.Errorf("engine: layer %d takes %d inputs, the layer before gives %d", i, l.Inputs, width)
			}
			width = l.Outputs
		case "relu":
			if width < 0 {
				return fmt.Errorf("engine: layer %d: relu before any dense layer", i)
			}
		default:
			return fmt.Errorf("engine: layer %d: unknown kind %q", i, l.Kind)
		}
	}
	return nil
}

func weightName(i int) string { return fmt.Sprintf("layer%d.weight", i) }
func biasName(i int) string   { return fmt.Sprintf("layer%d.bias", i) }

// Init returns the spec's weights drawn from seed: dense weights uniform
// in ±sqrt(6/(in+out)) (Glorot), biases zero.
func Init(s Spec, seed uint64) (tensor.Set, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	g := NewRNG(seed, 1)
	w := tensor.Set{}
	for i, l := range s.Layers {
		if l.Kind != "dense" {
			continue
		}
		limit := float32(math.Sqrt(6 / float64(l.Inputs+l.Outputs)))
		wt, _ := tensor.New(l.Inputs, l.Outputs)
		for j := range wt.Data {
			wt.Data[j] = float32((2*g.Float32() - 1) * limit)
		}
		b, _ := tensor.New(l.Outputs)
		w[weightName(i)], w[biasName(i)] = wt, b
	}
	return w, nil
}

// CheckWeights verifies that w has exactly the spec's tensors and shapes,
// all finite.
func CheckWeights(s Spec, w tensor.Set) error {
	want := 0
	for i, l := range s.Layers {
		if l.Kind != "dense" {
			continue
		}
		want += 2
		for name, shape := range map[string][]int{weightName(i): {l.Inputs, l.Outputs}, biasName(i): {l.Outputs}} {
			t, ok := w[name]
			if !ok {
				return fmt.Errorf("engine: weights lack %s", name)
			}
			if fmt.Sprint(t.Shape) != fmt.Sprint(shape) {
				return fmt.Errorf("engine: %s has shape %v, the spec says %v", name, t.Shape, shape)
			}
			if err := t.Validate(); err != nil {
				return fmt.Errorf("engine: %s: %w", name, err)
			}
			if err := t.CheckFinite(); err != nil {
				return fmt.Errorf("engine: %s: %w", name, err)
			}
		}
	}
	if len(w) != want {
		return fmt.Errorf("engine: weights have %d tensors, the spec %d", len(w), want)
	}
	return nil
}
