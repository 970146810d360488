package tensor

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestHashIsCanonicalAndSensitive(t *testing.T) {
	a := Set{"w": {Shape: []int{2, 2}, Data: []float32{1, 2, 3, 4}}, "b": {Shape: []int{2}, Data: []float32{0.5, -1}}}
	b := Set{"b": {Shape: []int{2}, Data: []float32{0.5, -1}}, "w": {Shape: []int{2, 2}, Data: []float32{1, 2, 3, 4}}}
	ha, err := a.Hash()
	require.NoError(t, err)
	hb, err := b.Hash()
	require.NoError(t, err)
	require.Equal(t, ha, hb, "map order does not matter")

	for name, mutate := range map[string]func(Set){
		"one bit":     func(s Set) { s["w"].Data[3] = math.Float32frombits(math.Float32bits(4) ^ 1) },
		"shape":       func(s Set) { s["w"] = Tensor{Shape: []int{4, 1}, Data: s["w"].Data} },
		"name":        func(s Set) { s["w2"] = s["w"]; delete(s, "w") },
		"extra entry": func(s Set) { s["c"] = Tensor{Shape: []int{0}} },
	} {
		c := Set{"w": {Shape: []int{2, 2}, Data: []float32{1, 2, 3, 4}}, "b": {Shape: []int{2}, Data: []float32{0.5, -1}}}
		mutate(c)
		hc, err := c.Hash()
		require.NoError(t, err)
		require.NotEqual(t, ha, hc, name)
	}
	zero, _ := Set{"z": {Shape: []int{1}, Data: []float32{0}}}.Hash()
	negZero, _ := Set{"z": {Shape: []int{1}, Data: []float32{float32(math.Copysign(0, -1))}}}.Hash()
	require.NotEqual(t, zero, negZero, "bit-identical means identical: -0 is not +0")
	_, err = Set{"bad": {Shape: []int{3}, Data: []float32{1}}}.Hash()
	require.Error(t, err)
}

func TestElementsAndFinite(t *testing.T) {
	n, err := Elements([]int{3, 4, 5})
	require.NoError(t, err)
	require.Equal(t, 60, n)
	_, err = Elements([]int{2, -1})
	require.Error(t, err)
	_, err = Elements([]int{1 << 20, 1 << 20})
	require.Error(t, err)
	tt, err := New(2, 3)
	require.NoError(t, err)
	require.NoError(t, tt.CheckFinite())
	tt.Data[4] = float32(math.NaN())
	require.ErrorIs(t, tt.CheckFinite(), ErrNotFinite)
	tt.Data[4] = float32(math.Inf(-1))
	require.ErrorIs(t, tt.CheckFinite(), ErrNotFinite)
}
