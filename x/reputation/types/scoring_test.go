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

func TestFederatedOutcomes(t *testing.T) {
	sw := dec("3")
	for o, want := range map[Outcome][2]string{
		OUTCOME_FEDERATED_UPDATE_ACCEPTED: {"1", "1"},
		OUTCOME_FEDERATED_UPDATE_REJECTED: {"0", "2"},
		OUTCOME_FEDERATED_UPDATE_MISSED:   {"0", "1"},
		OUTCOME_JOB_COMPLETED:             {"1", "1"},
		OUTCOME_JOB_FAILED:                {"0", "1"},
		OUTCOME_DISPUTE_LOST:              {"0", "3"},
	} {
		v, err := o.Value()
		require.NoError(t, err)
		require.Equal(t, dec(want[0]), v, o.String())
		require.Equal(t, dec(want[1]), o.Weight(sw), o.String())
	}
	// An outlier weighs more than a failed job and less than a lost dispute.
	require.True(t, OUTCOME_FEDERATED_UPDATE_REJECTED.Weight(sw).GT(OUTCOME_JOB_FAILED.Weight(sw)))
	require.True(t, OUTCOME_FEDERATED_UPDATE_REJECTED.Weight(sw).LT(OUTCOME_DISPUTE_LOST.Weight(sw)))
	// With severe_weight 1 every outcome weighs the same.
	require.Equal(t, dec("1"), OUTCOME_FEDERATED_UPDATE_REJECTED.Weight(dec("1")))
}
