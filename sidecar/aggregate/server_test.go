package aggregate

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

// Both server optimizers walk a model to the optimum of a quadratic when
// the "clients" report the negative gradient as their delta.
func TestServerOptimizersConverge(t *testing.T) {
	target := []float32{3, -2, 0.5}
	for _, opt := range []ServerOptimizer{&FedAvgM{LearningRate: 0.1, Beta: 0.9}, &FedAdam{LearningRate: 0.05, Beta1: 0.9, Beta2: 0.99, Tau: 1e-3}} {
		w := make([]float32, 3)
		for round := 0; round < 400; round++ {
			delta := make([]float32, 3)
			for i := range w {
				delta[i] = target[i] - w[i]
			}
			require.NoError(t, opt.Apply(w, delta))
		}
		for i := range w {
			require.InDelta(t, target[i], w[i], 0.05)
		}
		require.False(t, math.IsNaN(float64(w[0])))
		require.ErrorIs(t, opt.Apply(w, []float32{1}), ErrBadUpdates)
	}
}
