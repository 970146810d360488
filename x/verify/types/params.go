package types

import (
	"fmt"

	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"
)

// Bounds on params, so that no governance change can make a task or a
// block unboundedly expensive.
const (
	MaxLevels           = 16
	MaxLevelNameLen     = 32
	MaxJobLevel         = 100
	MaxSampleStepsBound = 100_000
	MaxCommitteeSize    = 100
	MaxDeadlineBlocks   = 100_000
	// MaxChallengeWindowBlocks bounds challenge_window_blocks.
	MaxChallengeWindowBlocks = 10_000_000
)

// DefaultParams of a new chain. The default level ("standard", every job
// whose verification_level is below 50) re-executes 44 steps: for a
// 1,000-step job that is 4.4% extra compute and catches a provider faking
// 10% of its steps with probability 1-0.9^44 = 99.03%. "high" (50-89)
// re-executes 66 steps (99.9%), "maximum" (90-100) 100 steps (99.997%).
// Providers of lower reputation get up to twice as many (reputation_scaling
// 1). Committees of 5 validators, 20 blocks to decide (inside the market's
// 30-block challenge window), 10% of the provider's collateral slashed on
// a failure, a validator's whole fee share forfeited on a miss and jail
// (10 minutes) after 10 net misses; a decided task may be challenged for
// 3,600 blocks.
func DefaultParams() Params {
	return Params{
		Levels: []Level{
			{Name: "standard", MinJobLevel: 0, SampleSteps: 44, InferenceRate: sdkmath.LegacyNewDecWithPrec(5, 2)},
			{Name: "high", MinJobLevel: 50, SampleSteps: 66, InferenceRate: sdkmath.LegacyNewDecWithPrec(20, 2)},
			{Name: "maximum", MinJobLevel: 90, SampleSteps: 100, InferenceRate: sdkmath.LegacyOneDec()},
		},
		ReputationScaling:     sdkmath.LegacyOneDec(),
		DisputeSampleSteps:    1_000,
		MaxSampleSteps:        2_000,
		CommitteeSize:         5,
		TaskDeadlineBlocks:    20,
		VerifierFee:           sdk.NewInt64Coin(sdk.DefaultBondDenom, 50_000),
		ChallengeFee:          sdk.NewInt64Coin(sdk.DefaultBondDenom, 1_000_000),
		SlashFraction:         sdkmath.LegacyNewDecWithPrec(1, 1),
		ValidatorPenaltyShare: sdkmath.LegacyOneDec(),
		MissThreshold:         10,
		JailSeconds:           600,
		MaxDrawsPerBlock:      100,
		ChallengeWindowBlocks: 3_600,
	}
}

// Validate checks the params.
func (p Params) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrInvalidParams}, args...)...)
	}
	if p.MaxSampleSteps == 0 || p.MaxSampleSteps > MaxSampleStepsBound {
		return bad("max_sample_steps must be 1 to %d", MaxSampleStepsBound)
	}
	if len(p.Levels) == 0 || len(p.Levels) > MaxLevels {
		return bad("1 to %d levels, got %d", MaxLevels, len(p.Levels))
	}
	names := map[string]bool{}
	for i, l := range p.Levels {
		if l.Name == "" || len(l.Name) > MaxLevelNameLen || names[l.Name] {
			return bad("levels[%d]: name must be 1 to %d bytes and unique", i, MaxLevelNameLen)
		}
		names[l.Name] = true
		if i == 0 && l.MinJobLevel != 0 {
			return bad("levels[0].min_job_level must be 0")
		}
		if i > 0 && l.MinJobLevel <= p.Levels[i-1].MinJobLevel {
			return bad("levels[%d]: min_job_level must increase", i)
		}
		if l.MinJobLevel > MaxJobLevel {
			return bad("levels[%d]: min_job_level must be at most %d", i, MaxJobLevel)
		}
		if l.SampleSteps == 0 || l.SampleSteps > p.MaxSampleSteps {
			return bad("levels[%d]: sample_steps must be 1 to max_sample_steps (%d)", i, p.MaxSampleSteps)
		}
		if l.InferenceRate.IsNil() || !l.InferenceRate.IsPositive() || l.InferenceRate.GT(sdkmath.LegacyOneDec()) {
			return bad("levels[%d]: inference_rate must be in (0, 1]", i)
		}
	}
	if p.ReputationScaling.IsNil() || p.ReputationScaling.IsNegative() || p.ReputationScaling.GT(sdkmath.LegacyNewDec(10)) {
		return bad("reputation_scaling must be in [0, 10]")
	}
	if p.DisputeSampleSteps == 0 || p.DisputeSampleSteps > p.MaxSampleSteps {
		return bad("dispute_sample_steps must be 1 to max_sample_steps (%d)", p.MaxSampleSteps)
	}
	if p.CommitteeSize == 0 || p.CommitteeSize > MaxCommitteeSize {
		return bad("committee_size must be 1 to %d", MaxCommitteeSize)
	}
	if p.TaskDeadlineBlocks < 1 || p.TaskDeadlineBlocks > MaxDeadlineBlocks {
		return bad("task_deadline_blocks must be 1 to %d", MaxDeadlineBlocks)
	}
	for name, c := range map[string]sdk.Coin{"verifier_fee": p.VerifierFee, "challenge_fee": p.ChallengeFee} {
		if err := c.Validate(); err != nil {
			return bad("%s: %v", name, err)
		}
	}
	if p.SlashFraction.IsNil() || !p.SlashFraction.IsPositive() || p.SlashFraction.GT(sdkmath.LegacyOneDec()) {
		return bad("slash_fraction must be in (0, 1]")
	}
	if p.ValidatorPenaltyShare.IsNil() || p.ValidatorPenaltyShare.IsNegative() || p.ValidatorPenaltyShare.GT(sdkmath.LegacyOneDec()) {
		return bad("validator_penalty_share must be in [0, 1]")
	}
	if p.MissThreshold == 0 {
		return bad("miss_threshold must be at least 1")
	}
	if p.JailSeconds < 0 {
		return bad("jail_seconds must not be negative")
	}
	if p.MaxDrawsPerBlock == 0 {
		return bad("max_draws_per_block must be at least 1")
	}
	if p.ChallengeWindowBlocks < 0 || p.ChallengeWindowBlocks > MaxChallengeWindowBlocks {
		return bad("challenge_window_blocks must be 0 (forever) to %d", MaxChallengeWindowBlocks)
	}
	return nil
}
