package aggregate

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cohortchain/cohort/sidecar/engine"
	"github.com/cohortchain/cohort/sidecar/tensor"
)

func rules() []Rule {
	return []Rule{FedAvg{}, Median{}, TrimmedMean{Beta: 0.2}, Krum{F: 2}, Krum{F: 2, Multi: 4},
		GeometricMedian{Iterations: 30}, CenteredClipping{Tau: 2, Iterations: 3}, Bulyan{F: 1}}
}

func TestSmallCases(t *testing.T) {
	ups := []Update{{Vector: []float32{1, 10}, Samples: 1}, {Vector: []float32{2, 20}, Samples: 1}, {Vector: []float32{3, 90}, Samples: 2}}
	got, err := FedAvg{}.Aggregate(nil, ups)
	require.NoError(t, err)
	require.InDeltaSlice(t, []float32{2.25, 52.5}, got, 1e-5)
	got, err = Median{}.Aggregate(nil, ups)
	require.NoError(t, err)
	require.Equal(t, []float32{2, 20}, got)
	got, err = Median{}.Aggregate(nil, ups[:2])
	require.NoError(t, err)
	require.Equal(t, []float32{1.5, 15}, got)
	five := append(ups, Update{Vector: []float32{4, 30}, Samples: 1}, Update{Vector: []float32{-100, 0}, Samples: 1})
	got, err = TrimmedMean{Beta: 0.2}.Aggregate(nil, five)
	require.NoError(t, err)
	require.InDeltaSlice(t, []float32{2, 20}, got, 1e-5, "the extremes of each coordinate are dropped")
}

// honestAndAttacked builds 10 updates near a true direction, the last two
// replaced by an attack.
func honestAndAttacked(d int, attack string) ([]Update, []float32) {
	g := engine.NewRNG(1, 5)
	truth := make([]float32, d)
	for i := range truth {
		truth[i] = g.Normal()
	}
	var honest [][]float32
	ups := make([]Update, 10)
	for c := 0; c < 10; c++ {
		v := make([]float32, d)
		for i := range v {
			v[i] = truth[i] + float32(0.3*g.Normal()) // rounded: no FMA on any platform
		}
		ups[c] = Update{Vector: v, Samples: 100}
		if c < 8 {
			honest = append(honest, v)
		}
	}
	for c := 8; c < 10; c++ {
		switch attack {
		case "sign-flip":
			ups[c].Vector = SignFlip(ups[c].Vector, 20)
		case "gaussian":
			ups[c].Vector = GaussianNoise(d, 30, uint64(c))
		case "alie":
			ups[c].Vector = ALIE(honest, 1.5)
		case "ipm":
			ups[c].Vector = IPM(honest, 20)
		}
	}
	return ups, truth
}

func errNorm(a, b []float32) float64 { return math.Sqrt(sqDist(a, b) / float64(len(a))) }

// TestRobustness: with 2 of 10 clients attacking, the robust rules stay
// near the truth while the plain mean is dragged far away by the blunt
// attacks. The table is logged.
func TestRobustness(t *testing.T) {
	const d = 2000
	for _, attack := range []string{"none", "sign-flip", "gaussian", "alie", "ipm"} {
		ups, truth := honestAndAttacked(d, attack)
		line := attack + ":"
		for _, r := range rules() {
			got, err := r.Aggregate(nil, ups)
			require.NoError(t, err, r.Name())
			e := errNorm(got, truth)
			line += fmt.Sprintf(" %s=%.3f", r.Name(), e)
			switch {
			case r.Name() == "fedavg" && (attack == "sign-flip" || attack == "gaussian" || attack == "ipm"):
				require.Greater(t, e, 1.0, "the plain mean fails under %s", attack)
			case r.Name() != "fedavg" && attack != "alie":
				require.Less(t, e, 0.5, "%s under %s", r.Name(), attack)
			}
		}
		t.Log(line)
	}
}

// TestDeterministicAcrossThreads: every rule gives bit-identical output at
// GOMAXPROCS 1, 2 and 8.
func TestDeterministicAcrossThreads(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	ups, _ := honestAndAttacked(50_000, "alie")
	for _, r := range rules() {
		var want [32]byte
		for i, procs := range []int{1, 2, 8} {
			runtime.GOMAXPROCS(procs)
			got, err := r.Aggregate(nil, ups)
			require.NoError(t, err)
			h := hashVec(got)
			if i == 0 {
				want = h
			}
			require.Equal(t, want, h, "%s at GOMAXPROCS=%d", r.Name(), procs)
		}
	}
}

func hashVec(v []float32) [32]byte {
	b := make([]byte, 0, 4*len(v))
	for _, x := range v {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
	}
	return sha256.Sum256(b)
}

func TestBadUpdates(t *testing.T) {
	nan := float32(math.NaN())
	for name, ups := range map[string][]Update{
		"none":         nil,
		"mismatch":     {{Vector: []float32{1, 2}, Samples: 1}, {Vector: []float32{1}, Samples: 1}},
		"nan":          {{Vector: []float32{1, nan}, Samples: 1}},
		"inf":          {{Vector: []float32{float32(math.Inf(1))}, Samples: 1}},
		"zero samples": {{Vector: []float32{1}, Samples: 0}},
	} {
		for _, r := range rules() {
			_, err := r.Aggregate(nil, ups)
			require.ErrorIs(t, err, ErrBadUpdates, "%s / %s", name, r.Name())
		}
	}
	few := []Update{{Vector: []float32{1}, Samples: 1}, {Vector: []float32{2}, Samples: 1}}
	_, err := Krum{F: 1}.Aggregate(nil, few)
	require.ErrorIs(t, err, ErrBadUpdates, "Krum needs n > 2f+2")
	_, err = Bulyan{F: 1}.Aggregate(nil, few)
	require.ErrorIs(t, err, ErrBadUpdates)
	_, err = TrimmedMean{Beta: 0.5}.Aggregate(nil, few)
	require.ErrorIs(t, err, ErrBadUpdates)
}

func TestFlattenRoundTrip(t *testing.T) {
	s := tensor.Set{"b": {Shape: []int{2}, Data: []float32{3, 4}}, "a": {Shape: []int{1, 2}, Data: []float32{1, 2}}}
	v := Flatten(s)
	require.Equal(t, []float32{1, 2, 3, 4}, v, "canonical name order")
	back, err := Unflatten(v, s)
	require.NoError(t, err)
	require.Equal(t, s, back)
	_, err = Unflatten(v[:3], s)
	require.Error(t, err)
	_, err = Unflatten(append(v, 5), s)
	require.Error(t, err)
}
