package privacy

import (
	"errors"
	"math"
	"runtime"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cohortchain/cohort/sidecar/tensor"
)

// update is a two-tensor update whose values are normals of std scale.
func update(seed uint64, scale float32) tensor.Set {
	v := normals(3000, scale, seed)
	return tensor.Set{
		"w": {Shape: []int{100, 20}, Data: v[:2000]},
		"b": {Shape: []int{1000}, Data: v[2000:]},
	}
}

func cloneSet(s tensor.Set) tensor.Set {
	out := tensor.Set{}
	for name, t := range s {
		out[name] = tensor.Tensor{Shape: slices.Clone(t.Shape), Data: slices.Clone(t.Data)}
	}
	return out
}

func TestClientDPMeanAndNoise(t *testing.T) {
	// Four equal updates of norm < C: the mean is that update, and the
	// residual is the noise, of std σC/m.
	u := update(1, 0.001) // norm ≈ 0.055
	ups := []tensor.Set{cloneSet(u), cloneSet(u), cloneSet(u), cloneSet(u)}
	c := ClientDP{Clip: 1, NoiseMultiplier: 2, Seed: 3}
	var residual []float64
	for round := uint64(0); round < 40; round++ {
		avg, stats, err := c.Aggregate(ups, round)
		require.NoError(t, err)
		require.Equal(t, 4, stats.Clients)
		require.Zero(t, stats.Clipped)
		for _, name := range u.Names() {
			require.Equal(t, u[name].Shape, avg[name].Shape)
			for i, x := range avg[name].Data {
				residual = append(residual, float64(x)-float64(u[name].Data[i]))
			}
		}
	}
	mean, sq := 0.0, 0.0
	for _, r := range residual {
		mean += r
	}
	mean /= float64(len(residual))
	for _, r := range residual {
		sq += (r - mean) * (r - mean)
	}
	sd := math.Sqrt(sq / float64(len(residual)-1))
	want := 2.0 * 1 / 4 // σC/m
	require.InDelta(t, 0, mean, 5*want/math.Sqrt(float64(len(residual))))
	require.InEpsilon(t, want, sd, 0.01)
}

func TestClientDPClipsAndFixedDenominator(t *testing.T) {
	a, b := update(1, 1), update(2, 1) // norms ≈ 55
	origA := cloneSet(a)
	c := ClientDP{Clip: 1, NoiseMultiplier: 1e-9, ClientsPerRound: 4, Seed: 1}
	avg, stats, err := c.Aggregate([]tensor.Set{a, b}, 0)
	require.NoError(t, err)
	require.Equal(t, 2, stats.Clipped)
	require.Equal(t, origA, a, "the updates are not modified")
	na, _ := Norm(a)
	nb, _ := Norm(b)
	require.InDelta(t, na, stats.Norms[0], 1e-9)
	require.InDelta(t, nb, stats.Norms[1], 1e-9)
	// (clip(a) + clip(b)) / 4: the denominator is the planned four clients.
	for _, name := range a.Names() {
		for i := range a[name].Data {
			want := (float64(a[name].Data[i])/na + float64(b[name].Data[i])/nb) / 4
			require.InDelta(t, want, float64(avg[name].Data[i]), 1e-6)
		}
	}
	n, err := Norm(avg)
	require.NoError(t, err)
	require.LessOrEqual(t, n, 2.0/4+1e-6, "‖mean‖ ≤ (clients present)·C/m")

	// The vector form gives the same numbers.
	flatA := append(slices.Clone(a["b"].Data), a["w"].Data...)
	flatB := append(slices.Clone(b["b"].Data), b["w"].Data...)
	vec, vstats, err := ClientDP{Clip: 1, NoiseMultiplier: 1e-9, ClientsPerRound: 4, Seed: 1}.AggregateVectors([][]float32{flatA, flatB}, 0)
	require.NoError(t, err)
	require.Equal(t, 2, vstats.Clipped)
	for i, x := range append(slices.Clone(avg["b"].Data), avg["w"].Data...) {
		require.InDelta(t, x, vec[i], 1e-6)
	}
}

func TestClientDPDeterministic(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	ups := []tensor.Set{update(1, 0.1), update(2, 0.1), update(3, 0.1)}
	c := ClientDP{Clip: 2, NoiseMultiplier: 1, Seed: 9}
	hash := func(procs int, round uint64) [32]byte {
		runtime.GOMAXPROCS(procs)
		avg, _, err := c.Aggregate(ups, round)
		require.NoError(t, err)
		h, err := avg.Hash()
		require.NoError(t, err)
		return h
	}
	ref := hash(1, 5)
	require.Equal(t, ref, hash(2, 5))
	require.Equal(t, ref, hash(8, 5))
	require.NotEqual(t, ref, hash(2, 6))
}

func TestClientDPBadInput(t *testing.T) {
	good := []tensor.Set{update(1, 1), update(2, 1)}
	for _, c := range []ClientDP{
		{Clip: 0, NoiseMultiplier: 1}, {Clip: -1, NoiseMultiplier: 1}, {Clip: math.NaN(), NoiseMultiplier: 1},
		{Clip: 1, NoiseMultiplier: 0}, {Clip: 1, NoiseMultiplier: -1}, {Clip: 1, NoiseMultiplier: math.Inf(1)},
		{Clip: 1, NoiseMultiplier: 1, ClientsPerRound: -1},
	} {
		_, _, err := c.Aggregate(good, 0)
		require.Error(t, err, "%+v", c)
		_, _, err = c.AggregateVectors([][]float32{{1}}, 0)
		require.Error(t, err, "%+v", c)
	}
	c := ClientDP{Clip: 1, NoiseMultiplier: 1}
	_, _, err := c.Aggregate(nil, 0)
	require.ErrorContains(t, err, "no updates")
	_, _, err = c.AggregateVectors(nil, 0)
	require.ErrorContains(t, err, "no updates")
	_, _, err = ClientDP{Clip: 1, NoiseMultiplier: 1, ClientsPerRound: 1}.Aggregate(good, 0)
	require.ErrorContains(t, err, "2 updates for 1 clients")

	nan := update(3, 1)
	nan["w"].Data[7] = float32(math.NaN())
	_, _, err = c.Aggregate([]tensor.Set{good[0], nan}, 0)
	require.True(t, errors.Is(err, tensor.ErrNotFinite))
	require.ErrorContains(t, err, "update 1, w")
	_, _, err = c.AggregateVectors([][]float32{{1, 2}, {float32(math.Inf(-1)), 2}}, 0)
	require.True(t, errors.Is(err, tensor.ErrNotFinite))

	other := update(4, 1)
	other["w"] = tensor.Tensor{Shape: []int{20, 100}, Data: other["w"].Data}
	_, _, err = c.Aggregate([]tensor.Set{good[0], other}, 0)
	require.ErrorContains(t, err, "shape")
	missing := update(5, 1)
	delete(missing, "b")
	_, _, err = c.Aggregate([]tensor.Set{good[0], missing}, 0)
	require.ErrorContains(t, err, "tensors")
	renamed := update(6, 1)
	renamed["c"] = renamed["b"]
	delete(renamed, "b")
	_, _, err = c.Aggregate([]tensor.Set{good[0], renamed}, 0)
	require.ErrorContains(t, err, `"b" missing`)
	_, _, err = c.AggregateVectors([][]float32{{1, 2}, {1}}, 0)
	require.ErrorContains(t, err, "values")
	broken := update(7, 1)
	broken["b"] = tensor.Tensor{Shape: []int{1000}, Data: broken["b"].Data[:10]}
	_, _, err = c.Aggregate([]tensor.Set{broken}, 0)
	require.Error(t, err)

	for _, pr := range [][2]int{{0, 10}, {-1, 10}, {11, 10}, {1, 0}} {
		_, err := ClientSamplingRate(pr[0], pr[1])
		require.Error(t, err, "%v", pr)
	}
	_, err = ClientDP{Clip: 1, NoiseMultiplier: 1}.SamplingRate(10)
	require.Error(t, err, "ClientsPerRound unset")
}

// TestFederatedBudget runs the accounting of a federated training: 10 of
// 1000 clients per round, σ = 1, stopping before ε = 2 at δ = 1e-5.
func TestFederatedBudget(t *testing.T) {
	c := ClientDP{Clip: 1, NoiseMultiplier: 1, ClientsPerRound: 10, Seed: 1}
	q, err := c.SamplingRate(1000)
	require.NoError(t, err)
	require.Equal(t, 0.01, q)
	b, err := NewBudget(2, 1e-5)
	require.NoError(t, err)
	rounds := 0
	for ; rounds < 100000; rounds++ {
		exceed, _, err := b.WouldExceed(q, c.NoiseMultiplier, 1)
		require.NoError(t, err)
		if exceed {
			break
		}
		_, err = b.Spend(q, c.NoiseMultiplier, 1)
		require.NoError(t, err)
	}
	spent, err := b.Spent()
	require.NoError(t, err)
	require.LessOrEqual(t, spent, 2.0)
	require.Greater(t, rounds, 100)
	over, _, err := Epsilon(q, 1, rounds+1, 1e-5)
	require.NoError(t, err)
	require.Greater(t, over, 2.0, "one more round would have exceeded it")
}
