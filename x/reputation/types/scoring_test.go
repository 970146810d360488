package types

import (
	"testing"

	"github.com/stretchr/testify/require"

	sdkmath "cosmossdk.io/math"
)

func dec(s string) sdkmath.LegacyDec { return sdkmath.LegacyMustNewDecFromStr(s) }

func TestLearnAndDecay(t *testing.T) {
	require.Equal(t, dec("0.55"), Learn(dec("0.5"), dec("1"), dec("0.1")))
	require.Equal(t, dec("0.45"), Learn(dec("0.5"), dec("0"), dec("0.1")))
	require.Equal(t, dec("0.2"), Learn(dec("0.5"), dec("0"), dec("0.6")))
	require.Equal(t, dec("0.891"), Decay(dec("0.9"), dec("0.5"), dec("0.0225")))
	require.Equal(t, dec("0.5"), Decay(dec("0.9"), dec("0.5"), dec("1")))
	// Scores stay in [0, 1] whatever the inputs.
	for _, s := range []string{"0", "0.3", "1"} {
		for _, v := range []string{"0", "1"} {
			for _, r := range []string{"0", "0.5", "1"} {
				got := Learn(dec(s), dec(v), dec(r))
				require.False(t, got.IsNegative() || got.GT(sdkmath.LegacyOneDec()))
			}
		}
	}
}

func TestLatencyValue(t *testing.T) {
	require.Equal(t, dec("1"), LatencyValue(100, 200))
	require.Equal(t, dec("1"), LatencyValue(200, 200))
	require.Equal(t, dec("0.5"), LatencyValue(400, 200))
	require.True(t, LatencyValue(1<<63+5, 200).IsPositive())
}

func TestOutcomes(t *testing.T) {
	for o := range Outcome_name {
		v, err := Outcome(o).Value()
		if Outcome(o) == OUTCOME_UNSPECIFIED {
			require.ErrorIs(t, err, ErrInvalidOutcome)
			continue
		}
		require.NoError(t, err)
		require.True(t, v.IsZero() || v.Equal(sdkmath.LegacyOneDec()))
	}
	require.True(t, OUTCOME_SLASHED.Severe())
	require.False(t, OUTCOME_JOB_FAILED.Severe())
}

func TestParams(t *testing.T) {
	require.NoError(t, DefaultParams().Validate())
	p := DefaultParams()
	p.LearningRate = dec("0.5") // times severe weight 3 > 1
	require.ErrorIs(t, p.Validate(), ErrInvalidParams)
	p = DefaultParams()
	p.DecayRate = dec("1.5")
	require.ErrorIs(t, p.Validate(), ErrInvalidParams)
	p = DefaultParams()
	p.TargetLatencyMs = 0
	require.ErrorIs(t, p.Validate(), ErrInvalidParams)
}
