package types

import (
	"fmt"

	sdkmath "cosmossdk.io/math"
)

// DefaultParams of a new chain: up to 1,000 rounds of up to 100
// participants, 1,000 joined providers; round deadlines of 10 to 100,000
// blocks; 20 blocks to join; 50 blocks to aggregate; one retry; updates from
// 66% of the selection (rounded up); 2% protocol fee; updates up to 4 GiB; URLs up
// to 512 bytes; committees of up to 100 validators drawn by stake.
func DefaultParams() Params {
	return Params{
		MaxRounds:                1_000,
		MaxParticipants:          100,
		MaxJoined:                1_000,
		MinRoundDeadlineBlocks:   10,
		MaxRoundDeadlineBlocks:   100_000,
		JoinWindowBlocks:         20,
		AggregationTimeoutBlocks: 50,
		MaxRoundRetries:          1,
		QuorumFraction:           sdkmath.LegacyNewDecWithPrec(66, 2),
		ProtocolFeeRate:          sdkmath.LegacyNewDecWithPrec(2, 2),
		MaxUpdateSize:            4 << 30,
		MaxLocationLength:        512,
		CommitteeSize:            100,
	}
}

// MaxCommitteeSize bounds params.committee_size: every round stores its
// committee.
const MaxCommitteeSize = 1_000

// Validate checks the params.
func (p Params) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrInvalidParams}, args...)...)
	}
	if p.MaxRounds == 0 || p.MaxParticipants == 0 {
		return bad("max_rounds and max_participants must be positive")
	}
	if p.MaxJoined < p.MaxParticipants {
		return bad("max_joined (%d) must be at least max_participants (%d)", p.MaxJoined, p.MaxParticipants)
	}
	if p.MinRoundDeadlineBlocks < 1 || p.MaxRoundDeadlineBlocks < p.MinRoundDeadlineBlocks {
		return bad("round deadline bounds must satisfy 1 <= min (%d) <= max (%d)", p.MinRoundDeadlineBlocks, p.MaxRoundDeadlineBlocks)
	}
	if p.JoinWindowBlocks < 1 || p.AggregationTimeoutBlocks < 1 {
		return bad("join_window_blocks and aggregation_timeout_blocks must be at least 1")
	}
	if p.MaxRoundRetries > 10 {
		return bad("max_round_retries must be at most 10")
	}
	if p.QuorumFraction.IsNil() || !p.QuorumFraction.IsPositive() || p.QuorumFraction.GT(sdkmath.LegacyOneDec()) {
		return bad("quorum_fraction must be in (0, 1]")
	}
	if p.ProtocolFeeRate.IsNil() || p.ProtocolFeeRate.IsNegative() || p.ProtocolFeeRate.GT(sdkmath.LegacyOneDec()) {
		return bad("protocol_fee_rate must be in [0, 1]")
	}
	if p.MaxUpdateSize == 0 {
		return bad("max_update_size must be positive")
	}
	if p.MaxLocationLength < 8 || p.MaxLocationLength > 4096 {
		return bad("max_location_length must be in [8, 4096]")
	}
	if p.CommitteeSize > MaxCommitteeSize {
		return bad("committee_size must be at most %d (0: the whole bonded set)", MaxCommitteeSize)
	}
	return nil
}
