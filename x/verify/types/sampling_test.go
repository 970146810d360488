package types_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	sdkmath "cosmossdk.io/math"

	"github.com/cohortchain/cohort/x/verify/types"
)

func TestSampleSteps(t *testing.T) {
	seed := seedOf(1)
	s := types.SampleSteps(seed, 1000, 44)
	require.Len(t, s, 44)
	for i := 1; i < len(s); i++ {
		require.Less(t, s[i-1], s[i], "ascending and distinct")
	}
	require.Less(t, s[len(s)-1], uint64(1000))
	require.Equal(t, s, types.SampleSteps(seed, 1000, 44), "deterministic")
	require.NotEqual(t, s, types.SampleSteps(seedOf(2), 1000, 44), "seed decides")
	require.Equal(t, []uint64{0, 1, 2, 3, 4}, types.SampleSteps(seed, 5, 44), "capped at the whole job")
	require.Empty(t, types.SampleSteps(seed, 0, 3))
	big := types.SampleSteps(seed, 1<<40, 100)
	require.Len(t, big, 100)

	// Every step is equally likely: over many seeds each of 10 steps is
	// drawn about k/10 of the time.
	counts := make([]int, 10)
	for i := 0; i < 5000; i++ {
		for _, x := range types.SampleSteps(seedOf(i), 10, 3) {
			counts[x]++
		}
	}
	for _, c := range counts {
		require.InDelta(t, 1500, c, 150)
	}
}

func TestSampleSizeAndLevels(t *testing.T) {
	p := types.DefaultParams()
	one, zero, half := sdkmath.LegacyOneDec(), sdkmath.LegacyZeroDec(), sdkmath.LegacyNewDecWithPrec(5, 1)
	require.Equal(t, "standard", types.SelectLevel(p.Levels, 0).Name)
	require.Equal(t, "standard", types.SelectLevel(p.Levels, 49).Name)
	require.Equal(t, "high", types.SelectLevel(p.Levels, 50).Name)
	require.Equal(t, "maximum", types.SelectLevel(p.Levels, 100).Name)
	std := p.Levels[0]
	require.Equal(t, uint64(44), types.SampleSize(p, std, one, 1000, false))
	require.Equal(t, uint64(88), types.SampleSize(p, std, zero, 1000, false), "reputation 0 doubles the sample")
	require.Equal(t, uint64(66), types.SampleSize(p, std, half, 1000, false))
	require.Equal(t, uint64(10), types.SampleSize(p, std, one, 10, false), "never more than the job")
	require.Equal(t, uint64(1000), types.SampleSize(p, std, one, 5000, true), "disputes take dispute_sample_steps")
	p.MaxSampleSteps = 50
	require.Equal(t, uint64(50), types.SampleSize(p, std, zero, 1000, false))

	require.Equal(t, "0.050000000000000000", types.InferenceRate(p, std, one).String())
	require.Equal(t, "0.100000000000000000", types.InferenceRate(p, std, zero).String())
	require.Equal(t, "1.000000000000000000", types.InferenceRate(p, p.Levels[2], zero).String(), "capped at 1")

	chosen := 0
	for i := 0; i < 20000; i++ {
		if types.Chosen(seedOf(i), sdkmath.LegacyNewDecWithPrec(5, 2)) {
			chosen++
		}
	}
	require.InDelta(t, 1000, chosen, 100)
	require.True(t, types.Chosen(seedOf(3), one))
}

func TestVerdictHash(t *testing.T) {
	task := types.Task{Id: 7, SampledSteps: []uint64{3, 9}}
	seen := map[string]bool{}
	for _, v := range task.Verdicts() {
		h := types.VerdictHash(v)
		require.Len(t, h, 32)
		require.False(t, seen[string(h)], "verdicts hash apart")
		seen[string(h)] = true
		got, err := task.MatchVerdict(h)
		require.NoError(t, err)
		require.Equal(t, v, got)
	}
	require.Len(t, seen, 4)
	_, err := task.MatchVerdict(types.VerdictHash(types.Verdict{TaskId: 7, Outcome: types.OUTCOME_FAIL, FirstDivergentStep: 4}))
	require.ErrorIs(t, err, types.ErrUnknownVerdict, "a step outside the sample is no verdict")
	_, err = task.MatchVerdict(types.VerdictHash(types.Verdict{TaskId: 8, Outcome: types.OUTCOME_PASS}))
	require.ErrorIs(t, err, types.ErrUnknownVerdict, "another task's verdict")

	id, err := types.ParseTaskSubject(types.TaskSubject(1 << 40))
	require.NoError(t, err)
	require.Equal(t, uint64(1<<40), id)
	_, err = types.ParseTaskSubject([]byte{1, 2})
	require.ErrorIs(t, err, types.ErrInvalidSubject)
}
