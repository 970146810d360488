package types

import (
	"crypto/sha256"
	"encoding/binary"
	"slices"

	sdkmath "cosmossdk.io/math"
)

// This file is the one place that says what is checked and how much.
//
//   - Training leases and federated updates are always checked. The job's
//     verification_level picks a Level; the Level's sample_steps, scaled up
//     for providers of low reputation by 1 + reputation_scaling*(1-score)
//     and rounded up, is how many steps are re-executed, at most
//     max_sample_steps and at most the steps committed. Challenges
//     (disputes) re-execute dispute_sample_steps instead (the whole job
//     when it is shorter).
//   - Inference claims (the receipts of the requests a usage claim is paid
//     for) are checked with the Level's inference_rate, scaled the same
//     way (at most 1); a checked claim re-executes as many of its requests
//     as a training task re-executes steps (SampleSize, over receipts).
//     A request reported wrong (market mismatch report) is a challenge
//     and always checked.
//   - Which steps, and whether an inference commitment is checked, come
//     from the task's seed, which is drawn from the header hash of a block
//     after the commitment (TaskSeed): the provider could not know it.

// seedDomain separates the task seed from other hashes.
const seedDomain = "cohort/verify/seed/v1"

// TaskSeed is the seed of task id drawn in a block whose header hash is
// headerHash: sha256("cohort/verify/seed/v1" ‖ headerHash ‖ id).
func TaskSeed(headerHash []byte, id uint64) []byte {
	h := sha256.New()
	h.Write([]byte(seedDomain))
	h.Write(headerHash)
	h.Write(binary.BigEndian.AppendUint64(nil, id))
	return h.Sum(nil)
}

// SelectLevel is the level of a job of verification level jobLevel: the
// last level whose min_job_level is at most jobLevel (levels are in
// increasing min_job_level and the first starts at 0).
func SelectLevel(levels []Level, jobLevel uint32) Level {
	chosen := levels[0]
	for _, l := range levels {
		if l.MinJobLevel <= jobLevel {
			chosen = l
		}
	}
	return chosen
}

// ReputationFactor is 1 + scaling*(1-score), score clamped to [0, 1]: a
// provider of full reputation is checked at the level's rate, one of none
// at 1+scaling times it.
func ReputationFactor(scaling, score sdkmath.LegacyDec) sdkmath.LegacyDec {
	one := sdkmath.LegacyOneDec()
	if score.IsNil() || score.IsNegative() {
		score = sdkmath.LegacyZeroDec()
	}
	if score.GT(one) {
		score = one
	}
	return one.Add(scaling.Mul(one.Sub(score)))
}

// SampleSize is how many of totalSteps steps a task re-executes (see the
// rules above).
func SampleSize(p Params, level Level, score sdkmath.LegacyDec, totalSteps uint64, challenge bool) uint64 {
	var k uint64
	if challenge {
		k = uint64(p.DisputeSampleSteps)
	} else {
		k = ReputationFactor(p.ReputationScaling, score).MulInt64(int64(level.SampleSteps)).Ceil().TruncateInt().Uint64()
	}
	return min(k, uint64(p.MaxSampleSteps), totalSteps)
}

// InferenceRate is the probability that an inference claim of a
// provider of reputation score is checked at level.
func InferenceRate(p Params, level Level, score sdkmath.LegacyDec) sdkmath.LegacyDec {
	r := level.InferenceRate.Mul(ReputationFactor(p.ReputationScaling, score))
	if r.GT(sdkmath.LegacyOneDec()) {
		return sdkmath.LegacyOneDec()
	}
	return r
}

// rateScale is the resolution of Chosen: rates are compared in millionths.
const rateScale = 1_000_000

// Chosen reports whether a claim with seed is checked at rate: a
// uniform draw from the seed in [0, 10^6) below rate*10^6.
func Chosen(seed []byte, rate sdkmath.LegacyDec) bool {
	threshold := rate.MulInt64(rateScale).TruncateInt64()
	return int64(draw(seed, "inference", 0, rateScale)) < threshold
}

// draw is the i-th pseudo-random number of seed and purpose in [0, n),
// n > 0. The modulo bias is below n/2^64.
func draw(seed []byte, purpose string, i, n uint64) uint64 {
	h := sha256.New()
	h.Write(seed)
	h.Write([]byte(purpose))
	h.Write(binary.BigEndian.AppendUint64(nil, i))
	return binary.BigEndian.Uint64(h.Sum(nil)[:8]) % n
}

// SampleSteps draws k distinct step indices from [0, total) without
// replacement from seed alone (Floyd's algorithm, k draws whatever total
// is) and returns them in ascending order. k is capped at total.
func SampleSteps(seed []byte, total, k uint64) []uint64 {
	k = min(k, total)
	chosen := make(map[uint64]bool, k)
	out := make([]uint64, 0, k)
	for j := total - k; j < total; j++ {
		t := draw(seed, "steps", j, j+1)
		if chosen[t] {
			t = j
		}
		chosen[t] = true
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}
