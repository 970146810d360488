package engine

import "testing"

// fashionShapedMLP and fashionShapedCNN are the models cohort-sidecar
// train uses on Fashion-MNIST (see cmd/cohort-sidecar/fashion.go).
var (
	fashionShapedMLP = Spec{Layers: []LayerSpec{{Kind: KindDense, Inputs: 784, Outputs: 256}, {Kind: KindReLU}, {Kind: KindDense, Inputs: 256, Outputs: 10}}}
	fashionShapedCNN = Spec{Input: []int{1, 28, 28}, Layers: []LayerSpec{
		{Kind: KindConv2D, Filters: 16, Kernel: 3, Stride: 1, Padding: 1}, {Kind: KindReLU}, {Kind: KindMaxPool2D, Size: 2, Stride: 2},
		{Kind: KindConv2D, Filters: 32, Kernel: 3, Stride: 1, Padding: 1}, {Kind: KindReLU}, {Kind: KindMaxPool2D, Size: 2, Stride: 2},
		{Kind: KindFlatten}, {Kind: KindDense, Inputs: 1568, Outputs: 64}, {Kind: KindReLU},
		{Kind: KindDropout, Rate: 0.3}, {Kind: KindDense, Inputs: 64, Outputs: 10},
	}}
)

// BenchmarkTrainStep reports training throughput in images/s for the MLP
// and the CNN at batch 64 with Adam (run with -cpu 1,2 for GOMAXPROCS).
func BenchmarkTrainStep(b *testing.B) {
	for _, m := range []struct {
		name string
		spec Spec
	}{{"mlp", fashionShapedMLP}, {"cnn", fashionShapedCNN}} {
		b.Run(m.name, func(b *testing.B) {
			const batch = 64
			data := images(batch*8, []int{784}, 10, 1)
			w, err := Init(m.spec, 1)
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			// One run of b.N steps, as a training epoch is: the per-step
			// cost includes the optimizer and the checkpoint hash.
			if _, err := Train(m.spec, w, data, TrainConfig{Steps: b.N, BatchSize: batch, Optimizer: "adam", LearningRate: 0.001, Seed: 1}); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "images/s")
		})
	}
}
