package engine

import (
	"fmt"
	"math"
	"slices"

	"github.com/cohortchain/cohort/sidecar/tensor"
)

// Layer kinds a Spec may use.
const (
	KindDense     = "dense"     // fully connected: Inputs → Outputs on a flat input
	KindReLU      = "relu"      // max(x, 0), any shape
	KindConv2D    = "conv2d"    // 2-D convolution on a [C, H, W] input
	KindMaxPool2D = "maxpool2d" // 2-D max pooling on a [C, H, W] input
	KindFlatten   = "flatten"   // [C, H, W] → [C·H·W], data unchanged
	KindDropout   = "dropout"   // inverted dropout while training, identity otherwise
)

// LayerSpec is one layer of a model. Kind selects the layer; each kind
// reads only its own fields and Validate rejects a layer that sets any
// other (so that one model has one canonical encoding):
//
//	dense:     Inputs, Outputs (Inputs must equal the flat width before it)
//	relu:      nothing
//	conv2d:    Filters (output channels), Kernel (square, Kernel × Kernel),
//	           Stride (≥ 1, both axes), Padding (zeros on every side, < Kernel)
//	maxpool2d: Size (square window), Stride (≥ 1, both axes); no padding
//	flatten:   nothing
//	dropout:   Rate, the probability of dropping a unit, in [0, 1)
//
// Activations are laid out NCHW: an example of shape [C, H, W] is C planes
// of H rows of W values, row-major, so flatten leaves the data as it is
// and a dense layer after it reads channel by channel. New kinds and
// fields may be added; a field's zero value must mean "unset".
type LayerSpec struct {
	Kind    string  `json:"kind"`
	Inputs  int     `json:"inputs,omitempty"`
	Outputs int     `json:"outputs,omitempty"`
	Filters int     `json:"filters,omitempty"`
	Kernel  int     `json:"kernel,omitempty"`
	Stride  int     `json:"stride,omitempty"`
	Padding int     `json:"padding,omitempty"`
	Size    int     `json:"size,omitempty"`
	Rate    float64 `json:"rate,omitempty"`
}

// Spec is a model architecture: layers applied in order to an input of
// shape Input, ending in a flat vector of logits that a softmax
// cross-entropy loss reads.
//
// Input is [C, H, W] for image models (conv2d and maxpool2d need it) or
// [width] for flat ones. It may be left empty when the first layer is
// dense: the input is then [Inputs of that layer], and the canonical form
// (Canonical, Encode) leaves such a flat input out.
type Spec struct {
	Input  []int       `json:"input,omitempty"`
	Layers []LayerSpec `json:"layers"`
}

// Bounds on a Spec that Validate enforces, so that a spec from the network
// cannot overflow an int or make the engine allocate without limit.
const (
	MaxLayers = 256 // layers in a model
	MaxDim    = 1 << 16
	// MaxActivation bounds the values of one example after any layer.
	MaxActivation = 1 << 24
	// MaxParams bounds the weights of a model (1 GiB of float32).
	MaxParams = 1 << 28
	// MaxWorkspace bounds the im2col buffer of one example in one conv
	// layer (in channels × kernel² × output positions).
	MaxWorkspace = 1 << 26
)

// Shapes validates s and returns the shape of every activation: shapes[0]
// is the input and shapes[i+1] the output of layer i. The last shape is
// flat: the logits.
func (s Spec) Shapes() ([][]int, error) {
	if len(s.Layers) == 0 {
		return nil, fmt.Errorf("engine: a model needs layers")
	}
	if len(s.Layers) > MaxLayers {
		return nil, fmt.Errorf("engine: %d layers, more than %d", len(s.Layers), MaxLayers)
	}
	in := s.Input
	if len(in) == 0 {
		if s.Layers[0].Kind != KindDense {
			return nil, fmt.Errorf("engine: a model whose first layer is %q needs an input shape", s.Layers[0].Kind)
		}
		in = []int{s.Layers[0].Inputs}
	}
	if len(in) != 1 && len(in) != 3 {
		return nil, fmt.Errorf("engine: input shape %v is neither [width] nor [channels, height, width]", in)
	}
	size := 1
	for _, d := range in {
		if d <= 0 || d > MaxDim {
			return nil, fmt.Errorf("engine: input shape %v: dimensions must be in [1, %d]", in, MaxDim)
		}
		size *= d // ≤ 2^48
	}
	if size > MaxActivation {
		return nil, fmt.Errorf("engine: input shape %v has more than %d values", in, MaxActivation)
	}
	shapes := [][]int{slices.Clone(in)}
	params := 0
	cur := shapes[0]
	for i, l := range s.Layers {
		fail := func(format string, args ...any) error {
			return fmt.Errorf("engine: layer %d (%s): %s", i, l.Kind, fmt.Sprintf(format, args...))
		}
		if err := l.checkFields(); err != nil {
			return nil, fail("%v", err)
		}
		var next []int
		switch l.Kind {
		case KindDense:
			if l.Inputs <= 0 || l.Outputs <= 0 || l.Inputs > MaxActivation || l.Outputs > MaxActivation {
				return nil, fail("%d→%d out of range", l.Inputs, l.Outputs)
			}
			if len(cur) != 1 {
				return nil, fail("needs a flat input, the layer before gives %v (add a flatten layer)", cur)
			}
			if l.Inputs != cur[0] {
				return nil, fail("takes %d inputs, the layer before gives %d", l.Inputs, cur[0])
			}
			if l.Outputs > MaxParams/l.Inputs || params+l.Inputs*l.Outputs+l.Outputs > MaxParams {
				return nil, fail("%d→%d takes the model beyond %d weights", l.Inputs, l.Outputs, MaxParams)
			}
			params += l.Inputs*l.Outputs + l.Outputs
			next = []int{l.Outputs}
		case KindReLU, KindDropout:
			if l.Kind == KindDropout && !(l.Rate >= 0 && l.Rate < 1) {
				return nil, fail("rate %v outside [0, 1)", l.Rate)
			}
			next = slices.Clone(cur)
		case KindFlatten:
			if len(cur) != 3 {
				return nil, fail("needs a [channels, height, width] input, the layer before gives %v", cur)
			}
			next = []int{cur[0] * cur[1] * cur[2]}
		case KindConv2D:
			if len(cur) != 3 {
				return nil, fail("needs a [channels, height, width] input, the layer before gives %v", cur)
			}
			if l.Filters <= 0 || l.Filters > MaxDim || l.Kernel <= 0 || l.Kernel > MaxDim || l.Stride <= 0 || l.Stride > MaxDim || l.Padding < 0 {
				return nil, fail("filters %d, kernel %d, stride %d, padding %d: sizes must be positive and at most %d", l.Filters, l.Kernel, l.Stride, l.Padding, MaxDim)
			}
			if l.Padding >= l.Kernel {
				return nil, fail("padding %d is not smaller than the kernel %d", l.Padding, l.Kernel)
			}
			c, h, w := cur[0], cur[1], cur[2]
			if l.Kernel > h+2*l.Padding || l.Kernel > w+2*l.Padding {
				return nil, fail("kernel %d is larger than the padded input %d×%d", l.Kernel, h+2*l.Padding, w+2*l.Padding)
			}
			oh, ow := (h+2*l.Padding-l.Kernel)/l.Stride+1, (w+2*l.Padding-l.Kernel)/l.Stride+1
			fanIn := c * l.Kernel * l.Kernel // ≤ 2^48
			if fanIn > MaxParams || l.Filters > MaxParams/fanIn || params+l.Filters*fanIn+l.Filters > MaxParams {
				return nil, fail("%d filters of %d×%d×%d take the model beyond %d weights", l.Filters, c, l.Kernel, l.Kernel, MaxParams)
			}
			if oh*ow > MaxActivation/l.Filters {
				return nil, fail("output %d×%d×%d has more than %d values", l.Filters, oh, ow, MaxActivation)
			}
			if fanIn > MaxWorkspace/(oh*ow) {
				return nil, fail("im2col workspace %d×%d is more than %d values", fanIn, oh*ow, MaxWorkspace)
			}
			params += l.Filters*fanIn + l.Filters
			next = []int{l.Filters, oh, ow}
		case KindMaxPool2D:
			if len(cur) != 3 {
				return nil, fail("needs a [channels, height, width] input, the layer before gives %v", cur)
			}
			if l.Size <= 0 || l.Size > MaxDim || l.Stride <= 0 || l.Stride > MaxDim {
				return nil, fail("size %d, stride %d: sizes must be positive and at most %d", l.Size, l.Stride, MaxDim)
			}
			if l.Size > cur[1] || l.Size > cur[2] {
				return nil, fail("window %d is larger than the input %d×%d", l.Size, cur[1], cur[2])
			}
			next = []int{cur[0], (cur[1]-l.Size)/l.Stride + 1, (cur[2]-l.Size)/l.Stride + 1}
		default:
			return nil, fmt.Errorf("engine: layer %d: unknown kind %q", i, l.Kind)
		}
		shapes = append(shapes, next)
		cur = next
	}
	if len(cur) != 1 {
		return nil, fmt.Errorf("engine: the last layer gives %v, not a flat vector of logits (add flatten and dense layers)", cur)
	}
	return shapes, nil
}

// checkFields rejects fields that l's kind does not read.
func (l LayerSpec) checkFields() error {
	type field struct {
		name string
		set  bool
	}
	all := []field{{"inputs", l.Inputs != 0}, {"outputs", l.Outputs != 0}, {"filters", l.Filters != 0}, {"kernel", l.Kernel != 0},
		{"stride", l.Stride != 0}, {"padding", l.Padding != 0}, {"size", l.Size != 0}, {"rate", l.Rate != 0}}
	uses := map[string][]string{
		KindDense: {"inputs", "outputs"}, KindReLU: nil, KindFlatten: nil, KindDropout: {"rate"},
		KindConv2D: {"filters", "kernel", "stride", "padding"}, KindMaxPool2D: {"size", "stride"},
	}
	own, known := uses[l.Kind]
	if !known {
		return nil // reported as an unknown kind
	}
	for _, f := range all {
		if f.set && !slices.Contains(own, f.name) {
			return fmt.Errorf("sets %s, which a %s layer does not use", f.name, l.Kind)
		}
	}
	return nil
}

// Validate checks that the layers chain and every size is in range; see
// Shapes.
func (s Spec) Validate() error {
	_, err := s.Shapes()
	return err
}

// InputWidth is the number of values of one input example (the product of
// the input shape), or 0 for an invalid spec.
func (s Spec) InputWidth() int {
	shapes, err := s.Shapes()
	if err != nil {
		return 0
	}
	return prod(shapes[0])
}

// Params is the number of weights of a valid spec (0 for an invalid one).
func (s Spec) Params() int {
	shapes, err := s.Shapes()
	if err != nil {
		return 0
	}
	n := 0
	for _, t := range weightShapes(s, shapes) {
		n += prod(t.shape)
	}
	return n
}

func prod(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// WeightName is the name of layer i's weight tensor in a tensor.Set.
func WeightName(i int) string { return fmt.Sprintf("layer%d.weight", i) }

// BiasName is the name of layer i's bias tensor in a tensor.Set.
func BiasName(i int) string { return fmt.Sprintf("layer%d.bias", i) }

// namedShape is one weight tensor a spec calls for.
type namedShape struct {
	name  string
	shape []int
	layer int
	bias  bool
}

// weightShapes lists a valid spec's tensors in layer order, weight before
// bias: dense layer i has layer{i}.weight [Inputs, Outputs] and
// layer{i}.bias [Outputs]; conv2d layer i has layer{i}.weight [Filters,
// C, Kernel, Kernel] and layer{i}.bias [Filters]. Other kinds have none.
func weightShapes(s Spec, shapes [][]int) []namedShape {
	var out []namedShape
	for i, l := range s.Layers {
		switch l.Kind {
		case KindDense:
			out = append(out, namedShape{WeightName(i), []int{l.Inputs, l.Outputs}, i, false}, namedShape{BiasName(i), []int{l.Outputs}, i, true})
		case KindConv2D:
			out = append(out, namedShape{WeightName(i), []int{l.Filters, shapes[i][0], l.Kernel, l.Kernel}, i, false}, namedShape{BiasName(i), []int{l.Filters}, i, true})
		}
	}
	return out
}

// Init returns the spec's weights drawn from seed, from one random stream
// in layer order: dense weights uniform in ±sqrt(6/(in+out)) (Glorot),
// conv2d weights uniform in ±sqrt(6/fan-in) with fan-in = C·Kernel² (He),
// biases zero. A spec of dense layers alone draws exactly as before conv
// layers existed, so its weights (and hashes) are unchanged.
func Init(s Spec, seed uint64) (tensor.Set, error) {
	shapes, err := s.Shapes()
	if err != nil {
		return nil, err
	}
	g := NewRNG(seed, 1)
	w := tensor.Set{}
	for _, ns := range weightShapes(s, shapes) {
		t, err := tensor.New(ns.shape...)
		if err != nil {
			return nil, fmt.Errorf("engine: %s: %w", ns.name, err)
		}
		if !ns.bias {
			var limit float32
			if l := s.Layers[ns.layer]; l.Kind == KindDense {
				limit = float32(math.Sqrt(6 / float64(l.Inputs+l.Outputs)))
			} else {
				limit = float32(math.Sqrt(6 / float64(ns.shape[1]*ns.shape[2]*ns.shape[3])))
			}
			for j := range t.Data {
				u := float32(g.Float32()) // rounded here: no FMA with what follows
				t.Data[j] = float32((2*u - 1) * limit)
			}
		}
		w[ns.name] = t
	}
	return w, nil
}

// CheckWeights verifies that s is valid and w has exactly the spec's
// tensors and shapes, all finite. The kernels rely on it: once it passes,
// no slice index in Forward or Gradients can go out of range.
func CheckWeights(s Spec, w tensor.Set) error {
	shapes, err := s.Shapes()
	if err != nil {
		return err
	}
	if err := checkWeightShapes(s, shapes, w); err != nil {
		return err
	}
	for _, name := range w.Names() {
		if err := w[name].CheckFinite(); err != nil {
			return fmt.Errorf("engine: %s: %w", name, err)
		}
	}
	return nil
}

// CheckWeightShapes is CheckWeights without the scan for NaN and Inf: the
// check Forward and Gradients make on every call, which is what keeps
// their slice indices in range (and what any other backend computing
// them must make). It validates s too.
func CheckWeightShapes(s Spec, w tensor.Set) error {
	shapes, err := s.Shapes()
	if err != nil {
		return err
	}
	return checkWeightShapes(s, shapes, w)
}

func checkWeightShapes(s Spec, shapes [][]int, w tensor.Set) error {
	want := weightShapes(s, shapes)
	for _, ns := range want {
		t, ok := w[ns.name]
		if !ok {
			return fmt.Errorf("engine: weights lack %s", ns.name)
		}
		if !slices.Equal(t.Shape, ns.shape) {
			return fmt.Errorf("engine: %s has shape %v, the spec says %v", ns.name, t.Shape, ns.shape)
		}
		if err := t.Validate(); err != nil {
			return fmt.Errorf("engine: %s: %w", ns.name, err)
		}
	}
	if len(w) != len(want) {
		return fmt.Errorf("engine: weights have %d tensors, the spec %d", len(w), len(want))
	}
	return nil
}
