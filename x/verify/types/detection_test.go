package types_test

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	sdkmath "cosmossdk.io/math"

	"github.com/cohortchain/cohort/x/verify/types"
)

func TestDetectionProbability(t *testing.T) {
	require.InDelta(t, 0.9903, types.DetectionProbability(0.1, 44), 1e-4)
	require.Equal(t, 0.0, types.DetectionProbability(0, 44))
	require.Equal(t, 1.0, types.DetectionProbability(1, 1))
	require.Equal(t, 0.0, types.DetectionProbability(1, 0))
	d := types.DetectionProbabilityDec(sdkmath.LegacyNewDecWithPrec(1, 1), 44)
	require.InDelta(t, types.DetectionProbability(0.1, 44), d.MustFloat64(), 1e-12)
}

func TestStepsForDetection(t *testing.T) {
	require.Equal(t, uint64(44), types.StepsForDetection(0.1, 0.99))
	require.Equal(t, uint64(66), types.StepsForDetection(0.1, 0.999))
	require.Equal(t, uint64(0), types.StepsForDetection(0.1, 0))
	require.Equal(t, uint64(1), types.StepsForDetection(1, 0.99))
	require.Equal(t, uint64(math.MaxUint64), types.StepsForDetection(0, 0.99))
	for _, p := range []float64{0.01, 0.05, 0.1, 0.3} {
		for _, target := range []float64{0.5, 0.9, 0.99, 0.9999} {
			k := types.StepsForDetection(p, target)
			require.GreaterOrEqual(t, types.DetectionProbability(p, k), target)
			require.Less(t, types.DetectionProbability(p, k-1), target)
		}
	}
}

// seedOf is the seed of simulated task i.
func seedOf(i int) []byte {
	h := sha256.Sum256(binary.BigEndian.AppendUint64([]byte("simulated header"), uint64(i)))
	return types.TaskSeed(h[:], uint64(i))
}

// TestDetectionSimulation draws the samples of many tasks with the module's
// own step sampling against a provider that fakes each of its steps with
// probability p (a random fraction p of them), and checks that the share
// of tasks that sample a faked step matches 1-(1-p)^k within four standard
// errors.
func TestDetectionSimulation(t *testing.T) {
	const tasks, total = 4000, 1000
	for _, c := range []struct {
		p float64
		k uint64
	}{{0.1, 44}, {0.1, 11}, {0.02, 44}, {0.05, 66}, {0.3, 5}} {
		t.Run(fmt.Sprintf("p=%.2f,k=%d", c.p, c.k), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(c.k), uint64(c.p*1000)))
			caught := 0
			for i := 0; i < tasks; i++ {
				faked := make([]bool, total)
				for s := range faked {
					faked[s] = rng.Float64() < c.p
				}
				steps := types.SampleSteps(seedOf(i), total, c.k)
				require.Len(t, steps, int(c.k))
				for _, s := range steps {
					if faked[s] {
						caught++
						break
					}
				}
			}
			want := types.DetectionProbability(c.p, c.k)
			got := float64(caught) / tasks
			se := math.Sqrt(want * (1 - want) / tasks)
			t.Logf("p=%.2f k=%d: caught %d of %d tasks (%.4f); 1-(1-p)^k = %.4f, standard error %.4f", c.p, c.k, caught, tasks, got, want, se)
			require.InDeltaf(t, want, got, 4*se+1e-9, "caught %d of %d tasks", caught, tasks)
		})
	}
}

// TestVerificationCost prints what the default and the highest level cost
// on a 1,000-step job (sampled steps / total steps) and the detection
// probability each buys against a provider faking 10% of its steps, and
// holds the default level to the target: at most 5% extra compute for at
// least 99% detection. Run with -v to see the figures.
func TestVerificationCost(t *testing.T) {
	const total = 1_000
	p := types.DefaultParams()
	full := sdkmath.LegacyOneDec()
	figures := func(l types.Level) (uint64, float64, float64) {
		k := types.SampleSize(p, l, full, total, false)
		return k, float64(k) / total, types.DetectionProbability(0.1, k)
	}
	def := types.SelectLevel(p.Levels, 0)
	k, cost, det := figures(def)
	t.Logf("default level %q: %d of %d steps re-executed, cost %.1f%%, detection at p=10%%: %.4f%%", def.Name, k, total, 100*cost, 100*det)
	require.LessOrEqual(t, cost, 0.05)
	require.GreaterOrEqual(t, det, 0.99)
	top := types.SelectLevel(p.Levels, types.MaxJobLevel)
	k, cost, det = figures(top)
	t.Logf("highest level %q: %d of %d steps re-executed, cost %.1f%%, detection at p=10%%: %.6f%%", top.Name, k, total, 100*cost, 100*det)
	zero := sdkmath.LegacyZeroDec()
	kLow := types.SampleSize(p, def, zero, total, false)
	t.Logf("default level for a provider of reputation 0: %d steps, cost %.1f%%, detection %.6f%%", kLow, 100*float64(kLow)/total, 100*types.DetectionProbability(0.1, kLow))
	kd := types.SampleSize(p, def, full, total, true)
	t.Logf("dispute: %d of %d steps (the whole job), detection of any faked step: 100%%", kd, total)
	require.Equal(t, uint64(total), kd)
}
