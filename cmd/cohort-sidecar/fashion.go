package main

import (
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"

	"github.com/cohortchain/cohort/sidecar/data"
	"github.com/cohortchain/cohort/sidecar/engine"
	"github.com/cohortchain/cohort/sidecar/safetensors"
	"github.com/cohortchain/cohort/sidecar/tensor"
)

// DefaultDataDir is where Debian's dataset-fashion-mnist installs the files.
const DefaultDataDir = "/usr/share/datasets/fashion-mnist"

// loadFashionMNIST reads the training and test sets from dir, keeping only
// the first limit training images when limit is positive.
func loadFashionMNIST(dir string, limit int) (train, test engine.Dataset, err error) {
	train, err = data.LoadImages(filepath.Join(dir, "train-images-idx3-ubyte.gz"), filepath.Join(dir, "train-labels-idx1-ubyte.gz"))
	if err != nil {
		return train, test, fmt.Errorf("%w (install Debian's dataset-fashion-mnist, or pass --data-dir)", err)
	}
	test, err = data.LoadImages(filepath.Join(dir, "t10k-images-idx3-ubyte.gz"), filepath.Join(dir, "t10k-labels-idx1-ubyte.gz"))
	if err != nil {
		return train, test, err
	}
	if limit > 0 && limit < len(train.Labels) {
		train = engine.Dataset{Inputs: train.Inputs[:limit*train.Width], Labels: train.Labels[:limit], Width: train.Width}
	}
	return train, test, nil
}

// mlpSpec is the width → hidden → 10 classifier both commands train.
func mlpSpec(width, hidden int) engine.Spec {
	return engine.Spec{Layers: []engine.LayerSpec{
		{Kind: engine.KindDense, Inputs: width, Outputs: hidden}, {Kind: engine.KindReLU}, {Kind: engine.KindDense, Inputs: hidden, Outputs: 10},
	}}
}

// cnnSpec is the small convolutional classifier for side × side greyscale
// images (side divisible by 4): two 3×3 convolutions of 16 and 32 filters
// (zero padding 1), each followed by ReLU and 2×2 max pooling, then
// hidden units, dropout 0.3 and 10 logits. On 28 × 28 images with 64
// hidden units it has 105,866 weights.
func cnnSpec(side, hidden int) engine.Spec {
	flat := 32 * (side / 4) * (side / 4)
	return engine.Spec{Input: []int{1, side, side}, Layers: []engine.LayerSpec{
		{Kind: engine.KindConv2D, Filters: 16, Kernel: 3, Stride: 1, Padding: 1}, {Kind: engine.KindReLU},
		{Kind: engine.KindMaxPool2D, Size: 2, Stride: 2},
		{Kind: engine.KindConv2D, Filters: 32, Kernel: 3, Stride: 1, Padding: 1}, {Kind: engine.KindReLU},
		{Kind: engine.KindMaxPool2D, Size: 2, Stride: 2},
		{Kind: engine.KindFlatten},
		{Kind: engine.KindDense, Inputs: flat, Outputs: hidden}, {Kind: engine.KindReLU},
		{Kind: engine.KindDropout, Rate: 0.3},
		{Kind: engine.KindDense, Inputs: hidden, Outputs: 10},
	}}
}

// modelSpec returns the named model ("mlp" or "cnn") for square images of
// width pixels.
func modelSpec(model string, width, hidden int) (engine.Spec, error) {
	switch model {
	case "mlp":
		return mlpSpec(width, hidden), nil
	case "cnn":
		side := int(math.Sqrt(float64(width)))
		if side*side != width || side%4 != 0 {
			return engine.Spec{}, fmt.Errorf("the cnn needs square images with a side divisible by 4, not %d pixels", width)
		}
		return cnnSpec(side, hidden), nil
	}
	return engine.Spec{}, fmt.Errorf("unknown model %q (mlp or cnn)", model)
}

// writeWeights writes weights as safetensors to path (nothing when path is
// empty), with format "cohort-engine" and meta in the header's metadata,
// and says so on w.
func writeWeights(w io.Writer, path string, weights tensor.Set, meta map[string]string) error {
	if path == "" {
		return nil
	}
	all := map[string]string{"format": "cohort-engine"}
	for k, v := range meta {
		all[k] = v
	}
	bz, err := safetensors.Encode(weights, all)
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, bz, 0o644); err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "wrote %s (%d bytes)\n", path, len(bz))
	return err
}
