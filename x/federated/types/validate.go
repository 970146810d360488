package types

import (
	"crypto/sha256"
	"fmt"
	"net/url"

	sdkmath "cosmossdk.io/math"

	verifytypes "github.com/cohortchain/cohort/x/verify/types"
)

// HashLen is the length of every content hash (sha256).
const HashLen = sha256.Size

// Aggregation rule names.
const (
	RuleFedAvg           = "fedavg"
	RuleMedian           = "median"
	RuleTrimmedMean      = "trimmed-mean"
	RuleKrum             = "krum"
	RuleMultiKrum        = "multi-krum"
	RuleGeometricMedian  = "geometric-median"
	RuleCenteredClipping = "centered-clipping"
	RuleBulyan           = "bulyan"
)

// AggregationRules lists the rules a run may name.
var AggregationRules = []string{RuleFedAvg, RuleMedian, RuleTrimmedMean, RuleKrum, RuleMultiKrum, RuleGeometricMedian, RuleCenteredClipping, RuleBulyan}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidRun}, args...)...)
}

// ValidateHash checks that h is a 32-byte hash.
func ValidateHash(field string, h []byte) error {
	if len(h) != HashLen {
		return fmt.Errorf("%s must be %d bytes, got %d", field, HashLen, len(h))
	}
	return nil
}

// ValidateLocation checks that loc is an http(s) URL of at most maxLen bytes.
func ValidateLocation(field, loc string, maxLen uint32) error {
	if loc == "" || len(loc) > int(maxLen) {
		return fmt.Errorf("%s must be 1 to %d bytes", field, maxLen)
	}
	u, err := url.Parse(loc)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("%s must be an http(s) URL, got %q", field, loc)
	}
	return nil
}

// dec parses s as a decimal in (lo, hi] (or [lo, hi] when closedLo).
func dec(field, s string, lo, hi sdkmath.LegacyDec, closedLo bool) error {
	d, err := sdkmath.LegacyNewDecFromStr(s)
	if err != nil {
		return invalid("%s %q is not a decimal", field, s)
	}
	if d.LT(lo) || (!closedLo && d.Equal(lo)) || d.GT(hi) {
		return invalid("%s %s out of range", field, s)
	}
	return nil
}

var (
	zero   = sdkmath.LegacyZeroDec()
	one    = sdkmath.LegacyOneDec()
	huge   = sdkmath.LegacyNewDec(1_000_000)
	half   = sdkmath.LegacyNewDecWithPrec(5, 1)
	lrHigh = sdkmath.LegacyNewDec(10)
)

// Validate checks the aggregation rule for a round of n participants at
// most (min is the fewest updates a round aggregates).
func (a AggregationRule) Validate(minUpdates, maxUpdates uint32) error {
	unusedInt := func(names ...string) error {
		for _, n := range names {
			switch {
			case n == "byzantine" && a.Byzantine != 0,
				n == "select_count" && a.SelectCount != 0,
				n == "max_iterations" && a.MaxIterations != 0,
				n == "trim_fraction" && a.TrimFraction != "",
				n == "clip_radius" && a.ClipRadius != "":
				return invalid("aggregation %s takes no %s", a.Name, n)
			}
		}
		return nil
	}
	switch a.Name {
	case RuleFedAvg, RuleMedian:
		return unusedInt("byzantine", "select_count", "max_iterations", "trim_fraction", "clip_radius")
	case RuleTrimmedMean:
		if err := dec("aggregation.trim_fraction", a.TrimFraction, zero, half, true); err != nil {
			return err
		}
		if d := sdkmath.LegacyMustNewDecFromStr(a.TrimFraction); d.Equal(half) {
			return invalid("aggregation.trim_fraction must be below 0.5")
		}
		return unusedInt("byzantine", "select_count", "max_iterations", "clip_radius")
	case RuleKrum, RuleMultiKrum:
		// Krum needs n > 2f + 2 updates.
		if uint64(minUpdates) <= 2*uint64(a.Byzantine)+2 {
			return invalid("%s with byzantine=%d needs min_participants > %d", a.Name, a.Byzantine, 2*a.Byzantine+2)
		}
		if a.Name == RuleMultiKrum {
			if a.SelectCount == 0 || a.SelectCount > minUpdates-a.Byzantine {
				return invalid("multi-krum select_count must be in [1, min_participants - byzantine]")
			}
		} else if err := unusedInt("select_count"); err != nil {
			return err
		}
		return unusedInt("max_iterations", "trim_fraction", "clip_radius")
	case RuleBulyan:
		// Bulyan needs n >= 4f + 3 updates.
		if uint64(minUpdates) < 4*uint64(a.Byzantine)+3 {
			return invalid("bulyan with byzantine=%d needs min_participants >= %d", a.Byzantine, 4*a.Byzantine+3)
		}
		return unusedInt("select_count", "max_iterations", "trim_fraction", "clip_radius")
	case RuleGeometricMedian:
		if a.MaxIterations == 0 || a.MaxIterations > 1000 {
			return invalid("geometric-median max_iterations must be in [1, 1000]")
		}
		return unusedInt("byzantine", "select_count", "trim_fraction", "clip_radius")
	case RuleCenteredClipping:
		if a.MaxIterations == 0 || a.MaxIterations > 1000 {
			return invalid("centered-clipping max_iterations must be in [1, 1000]")
		}
		if err := dec("aggregation.clip_radius", a.ClipRadius, zero, huge, false); err != nil {
			return err
		}
		return unusedInt("byzantine", "select_count", "trim_fraction")
	default:
		return invalid("aggregation rule %q is not one of %v", a.Name, AggregationRules)
	}
}

// Validate checks the model reference: a registry version or a spec hash.
func (m ModelRef) Validate() error {
	reg := m.RegistryModelId != 0 || m.RegistryVersion != 0
	switch {
	case reg && len(m.EngineSpecHash) > 0:
		return invalid("model names both a registry version and an engine spec hash")
	case reg:
		if m.RegistryModelId == 0 || m.RegistryVersion == 0 {
			return invalid("model needs both registry_model_id and registry_version")
		}
	default:
		if err := ValidateHash("model.engine_spec_hash", m.EngineSpecHash); err != nil {
			return invalid("%v", err)
		}
	}
	return nil
}

// Validate checks the privacy settings: client-dp needs epsilon in
// (0, 100], delta in (0, 1), and positive clip_norm and noise_multiplier
// (each at most 1,000,000); the other modes take none of them. Whether the
// budget pays for a round is CreateRun's check (Privacy.CanAfford).
func (p Privacy) Validate() error {
	switch p.Mode {
	case PRIVACY_MODE_NONE, PRIVACY_MODE_SECURE_AGGREGATION:
		if p.Epsilon != "" || p.Delta != "" || p.ClipNorm != "" || p.NoiseMultiplier != "" {
			return invalid("privacy epsilon, delta, clip_norm and noise_multiplier apply to client-dp only")
		}
	case PRIVACY_MODE_CLIENT_DP:
		if err := dec("privacy.epsilon", p.Epsilon, zero, sdkmath.LegacyNewDec(100), false); err != nil {
			return err
		}
		if err := dec("privacy.delta", p.Delta, zero, one, false); err != nil {
			return err
		}
		if sdkmath.LegacyMustNewDecFromStr(p.Delta).Equal(one) {
			return invalid("privacy.delta must be below 1")
		}
		if err := dec("privacy.clip_norm", p.ClipNorm, zero, huge, false); err != nil {
			return err
		}
		if err := dec("privacy.noise_multiplier", p.NoiseMultiplier, zero, huge, false); err != nil {
			return err
		}
	default:
		return invalid("unknown privacy mode %d", p.Mode)
	}
	return nil
}

// Validate checks the compression settings.
func (c Compression) Validate() error {
	switch c.Mode {
	case COMPRESSION_MODE_NONE:
		if c.TopkFraction != "" {
			return invalid("compression topk_fraction applies to topk only")
		}
	case COMPRESSION_MODE_TOPK:
		return dec("compression.topk_fraction", c.TopkFraction, zero, one, false)
	default:
		return invalid("unknown compression mode %d", c.Mode)
	}
	return nil
}

// RequiredUpdates is how many updates a round with the given number of
// selected participants needs: quorum × selected rounded up, never fewer
// than minParticipants nor more than selected.
func RequiredUpdates(selected, minParticipants uint32, quorum sdkmath.LegacyDec) uint32 {
	q := uint32(quorum.MulInt64(int64(selected)).Ceil().TruncateInt64())
	if q < minParticipants {
		q = minParticipants
	}
	if q > selected {
		q = selected
	}
	return q
}

// Validate checks the spec against the params.
func (s RunSpec) Validate(p Params) error {
	if err := s.Model.Validate(); err != nil {
		return err
	}
	if err := ValidateHash("initial_weights_hash", s.InitialWeightsHash); err != nil {
		return invalid("%v", err)
	}
	if err := ValidateLocation("initial_weights_location", s.InitialWeightsLocation, p.MaxLocationLength); err != nil {
		return invalid("%v", err)
	}
	if s.Rounds == 0 || s.Rounds > p.MaxRounds {
		return invalid("rounds must be in [1, %d], got %d", p.MaxRounds, s.Rounds)
	}
	if s.LocalSteps == 0 || s.LocalSteps > 1_000_000 {
		return invalid("local_steps must be in [1, 1000000], got %d", s.LocalSteps)
	}
	if s.BatchSize == 0 || s.BatchSize > 1<<20 {
		return invalid("batch_size must be in [1, %d], got %d", 1<<20, s.BatchSize)
	}
	if err := dec("learning_rate", s.LearningRate, zero, lrHigh, false); err != nil {
		return err
	}
	if s.MinParticipants == 0 || s.MinParticipants > s.MaxParticipants || s.MaxParticipants > p.MaxParticipants {
		return invalid("participants must satisfy 1 <= min (%d) <= max (%d) <= %d", s.MinParticipants, s.MaxParticipants, p.MaxParticipants)
	}
	if s.RoundDeadlineBlocks < p.MinRoundDeadlineBlocks || s.RoundDeadlineBlocks > p.MaxRoundDeadlineBlocks {
		return invalid("round_deadline_blocks must be in [%d, %d], got %d", p.MinRoundDeadlineBlocks, p.MaxRoundDeadlineBlocks, s.RoundDeadlineBlocks)
	}
	if err := s.Aggregation.Validate(s.MinParticipants, s.MaxParticipants); err != nil {
		return err
	}
	if err := s.Privacy.Validate(); err != nil {
		return err
	}
	if err := s.Compression.Validate(); err != nil {
		return err
	}
	if s.Privacy.Mode != PRIVACY_MODE_NONE && s.Aggregation.Name != "fedavg" {
		// A robust rule looks at each update; the privacy guarantees are
		// about their sum (client-dp's noise covers the sum; secure
		// aggregation reveals only the sum).
		return invalid("privacy mode %s aggregates with fedavg only, got %q", s.Privacy.Mode, s.Aggregation.Name)
	}
	if s.Privacy.Mode == PRIVACY_MODE_SECURE_AGGREGATION {
		if s.MinParticipants < 2 {
			return invalid("secure aggregation needs min_participants of at least 2, got %d", s.MinParticipants)
		}
		if s.Compression.Mode != COMPRESSION_MODE_NONE {
			return invalid("secure aggregation sums dense masked vectors: compression must be none")
		}
	}
	if err := s.validateVerification(); err != nil {
		return err
	}
	// An absent min_collateral decodes as no denom and a nil or zero
	// amount; anything else must be a valid coin.
	if c := s.MinCollateral; c.Denom != "" || !(c.Amount.IsNil() || c.Amount.IsZero()) {
		if err := c.Validate(); err != nil {
			return invalid("min_collateral: %v", err)
		}
	}
	if err := s.RewardPerUpdate.Validate(); err != nil || !s.RewardPerUpdate.IsPositive() {
		return invalid("reward_per_update must be a positive coin, got %s", s.RewardPerUpdate)
	}
	return nil
}

// MaxDataSize bounds the examples a participant of a run that verifies
// updates may commit to when it joins (data_size): x/verify's bound on the
// steps one commitment covers.
const MaxDataSize = verifytypes.MaxTotalSteps

// validateVerification checks verify_updates and verification_level: the
// level is at most x/verify's MaxJobLevel, and updates are verified only
// without secure aggregation or client-level DP. Verifying an update shows
// the committee the participant's update and the examples of the sampled
// steps' batches; secure aggregation promises that only the round's sum is
// revealed, and client-level DP that only noised updates are, so neither
// can be combined with it. Compression is fine.
func (s RunSpec) validateVerification() error {
	if s.VerificationLevel > verifytypes.MaxJobLevel {
		return invalid("verification_level must be at most %d, got %d", verifytypes.MaxJobLevel, s.VerificationLevel)
	}
	if !s.VerifyUpdates {
		return nil
	}
	switch s.Privacy.Mode {
	case PRIVACY_MODE_SECURE_AGGREGATION:
		return invalid("verify_updates cannot be combined with secure aggregation: verification reveals each participant's update, which secure aggregation keeps hidden")
	case PRIVACY_MODE_CLIENT_DP:
		return invalid("verify_updates cannot be combined with client-level DP: verification re-executes local steps on revealed examples, which the DP guarantee keeps private")
	}
	return nil
}

// ValidateDataCommitment checks a participant's commitment to its local
// examples, required by a run that verifies updates: a 32-byte Merkle root
// and a count in [1, MaxDataSize].
func ValidateDataCommitment(root []byte, size uint64) error {
	if err := ValidateHash("data_root", root); err != nil {
		return err
	}
	if size == 0 || size > MaxDataSize {
		return fmt.Errorf("data_size must be in [1, %d], got %d", uint64(MaxDataSize), size)
	}
	return nil
}

// Budget is rounds × max_participants × reward_per_update.
func (s RunSpec) Budget() (sdkmath.Int, error) {
	var (
		b   sdkmath.Int
		err error
	)
	func() {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("%w: budget", ErrOverflow)
			}
		}()
		b = s.RewardPerUpdate.Amount.Mul(sdkmath.NewInt(int64(s.Rounds))).Mul(sdkmath.NewInt(int64(s.MaxParticipants)))
	}()
	return b, err
}

// ValidateFields checks the update's fields against the params.
func (m MsgSubmitUpdate) ValidateFields(p Params) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrInvalidUpdate}, args...)...)
	}
	if err := ValidateHash("hash", m.Hash); err != nil {
		return bad("%v", err)
	}
	if err := ValidateHash("checkpoint_root", m.CheckpointRoot); err != nil {
		return bad("%v", err)
	}
	if m.Size_ == 0 || m.Size_ > p.MaxUpdateSize {
		return bad("size must be in [1, %d], got %d", p.MaxUpdateSize, m.Size_)
	}
	if m.SampleCount == 0 {
		return bad("sample_count must be positive")
	}
	if err := ValidateLocation("location", m.Location, p.MaxLocationLength); err != nil {
		return bad("%v", err)
	}
	if m.Round == 0 {
		return bad("round must be at least 1")
	}
	return nil
}

// ValidateFields checks a secure-aggregation message commitment against
// the params: a stage a participant sends (advertise, share-keys or
// unmask), a sha256 hash, a size in [1, max_update_size] and a location.
func (m MsgSubmitSecAggMessage) ValidateFields(p Params) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrInvalidSecAgg}, args...)...)
	}
	switch m.Stage {
	case SECAGG_STAGE_ADVERTISE, SECAGG_STAGE_SHARE_KEYS, SECAGG_STAGE_UNMASK:
	default:
		return bad("stage must be advertise, share-keys or unmask (a masked input is an update), got %s", m.Stage)
	}
	if err := ValidateHash("hash", m.Hash); err != nil {
		return bad("%v", err)
	}
	if m.Size_ == 0 || m.Size_ > p.MaxUpdateSize {
		return bad("size must be in [1, %d], got %d", p.MaxUpdateSize, m.Size_)
	}
	if err := ValidateLocation("location", m.Location, p.MaxLocationLength); err != nil {
		return bad("%v", err)
	}
	if m.Round == 0 {
		return bad("round must be at least 1")
	}
	return nil
}

// SecAggThreshold is T of a secure-aggregation round with selected
// participants: a strict majority, ⌊selected/2⌋ + 1, so that 2T > selected
// (no two disjoint groups of T exist, which keeps a lying server from
// collecting both of a participant's secrets) and up to selected − T
// participants may drop out. It is at least 2.
func SecAggThreshold(selected uint32) uint32 {
	return max(selected/2+1, 2)
}

// ResultHash is the hash validators attest for a round: sha256 of the
// protobuf encoding of the result without its location. Each validator
// serves the new weights from its own blob store, so the location differs
// between them while the weights (named by their hash) do not; whoever
// reveals the result names the location it serves them from.
func (r RoundResult) ResultHash() []byte {
	r.NewWeightsLocation = ""
	bz, err := r.Marshal()
	if err != nil {
		panic(err)
	}
	h := sha256.Sum256(bz)
	return h[:]
}

// Validate checks the result's fields.
func (r RoundResult) Validate(maxLocation uint32) error {
	if r.RunId == 0 || r.Round == 0 {
		return fmt.Errorf("%w: run_id and round must be positive", ErrInvalidResult)
	}
	if err := ValidateHash("new_weights_hash", r.NewWeightsHash); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidResult, err)
	}
	if err := ValidateLocation("new_weights_location", r.NewWeightsLocation, maxLocation); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidResult, err)
	}
	if len(r.AcceptedUpdates) == 0 {
		return fmt.Errorf("%w: no accepted updates", ErrInvalidResult)
	}
	seen := map[string]bool{}
	for i, h := range r.AcceptedUpdates {
		if err := ValidateHash(fmt.Sprintf("accepted_updates[%d]", i), h); err != nil {
			return fmt.Errorf("%w: %v", ErrInvalidResult, err)
		}
		if seen[string(h)] {
			return fmt.Errorf("%w: accepted_updates[%d] repeats", ErrInvalidResult, i)
		}
		seen[string(h)] = true
	}
	return nil
}

// Subject is the attestation subject of a round: the run id (8 bytes, big
// endian) then the round number (4 bytes, big endian).
func Subject(runID uint64, round uint32) []byte {
	b := make([]byte, 12)
	for i := 0; i < 8; i++ {
		b[i] = byte(runID >> (56 - 8*i))
	}
	for i := 0; i < 4; i++ {
		b[8+i] = byte(round >> (24 - 8*i))
	}
	return b
}

// ParseSubject is the inverse of Subject.
func ParseSubject(b []byte) (uint64, uint32, error) {
	if len(b) != 12 {
		return 0, 0, fmt.Errorf("%w: %d bytes, want 12", ErrInvalidSubject, len(b))
	}
	var id uint64
	var round uint32
	for i := 0; i < 8; i++ {
		id = id<<8 | uint64(b[i])
	}
	for i := 8; i < 12; i++ {
		round = round<<8 | uint32(b[i])
	}
	return id, round, nil
}

// Terminal reports whether the run is finished.
func (s RunState) Terminal() bool {
	return s == RUN_STATE_COMPLETED || s == RUN_STATE_FAILED || s == RUN_STATE_CANCELLED
}
