package types_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/cohortchain/cohort/x/verify/types"
)

func TestParamsValidate(t *testing.T) {
	require.NoError(t, types.DefaultParams().Validate())
	cases := map[string]func(*types.Params){
		"no levels":                func(p *types.Params) { p.Levels = nil },
		"first level not at 0":     func(p *types.Params) { p.Levels[0].MinJobLevel = 1 },
		"levels not increasing":    func(p *types.Params) { p.Levels[1].MinJobLevel = 0 },
		"level above 100":          func(p *types.Params) { p.Levels[2].MinJobLevel = 101 },
		"repeated name":            func(p *types.Params) { p.Levels[1].Name = p.Levels[0].Name },
		"empty name":               func(p *types.Params) { p.Levels[1].Name = "" },
		"no sample":                func(p *types.Params) { p.Levels[0].SampleSteps = 0 },
		"sample above max":         func(p *types.Params) { p.Levels[0].SampleSteps = p.MaxSampleSteps + 1 },
		"zero inference rate":      func(p *types.Params) { p.Levels[0].InferenceRate = sdkmath.LegacyZeroDec() },
		"inference rate above 1":   func(p *types.Params) { p.Levels[0].InferenceRate = sdkmath.LegacyNewDec(2) },
		"nil inference rate":       func(p *types.Params) { p.Levels[0].InferenceRate = sdkmath.LegacyDec{} },
		"negative scaling":         func(p *types.Params) { p.ReputationScaling = sdkmath.LegacyNewDec(-1) },
		"huge scaling":             func(p *types.Params) { p.ReputationScaling = sdkmath.LegacyNewDec(11) },
		"no dispute sample":        func(p *types.Params) { p.DisputeSampleSteps = 0 },
		"dispute sample above max": func(p *types.Params) { p.DisputeSampleSteps = p.MaxSampleSteps + 1 },
		"max sample zero":          func(p *types.Params) { p.MaxSampleSteps = 0 },
		"max sample huge":          func(p *types.Params) { p.MaxSampleSteps = types.MaxSampleStepsBound + 1 },
		"no committee":             func(p *types.Params) { p.CommitteeSize = 0 },
		"negative window":          func(p *types.Params) { p.ChallengeWindowBlocks = -1 },
		"huge window":              func(p *types.Params) { p.ChallengeWindowBlocks = types.MaxChallengeWindowBlocks + 1 },
		"huge committee":           func(p *types.Params) { p.CommitteeSize = types.MaxCommitteeSize + 1 },
		"no deadline":              func(p *types.Params) { p.TaskDeadlineBlocks = 0 },
		"bad verifier fee":         func(p *types.Params) { p.VerifierFee = sdk.Coin{Denom: "x", Amount: sdkmath.NewInt(-1)} },
		"bad challenge fee denom":  func(p *types.Params) { p.ChallengeFee = sdk.Coin{Denom: "", Amount: sdkmath.NewInt(1)} },
		"zero slash":               func(p *types.Params) { p.SlashFraction = sdkmath.LegacyZeroDec() },
		"slash above 1":            func(p *types.Params) { p.SlashFraction = sdkmath.LegacyNewDec(2) },
		"penalty share above 1":    func(p *types.Params) { p.ValidatorPenaltyShare = sdkmath.LegacyNewDec(2) },
		"negative penalty share":   func(p *types.Params) { p.ValidatorPenaltyShare = sdkmath.LegacyNewDec(-1) },
		"no miss threshold":        func(p *types.Params) { p.MissThreshold = 0 },
		"negative jail":            func(p *types.Params) { p.JailSeconds = -1 },
		"no draws per block":       func(p *types.Params) { p.MaxDrawsPerBlock = 0 },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			p := types.DefaultParams()
			mutate(&p)
			require.ErrorIs(t, p.Validate(), types.ErrInvalidParams)
		})
	}
}
