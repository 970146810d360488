package types

import (
	"math"

	sdkmath "cosmossdk.io/math"
)

// DetectionProbability is the probability that k steps, sampled at
// random, include at least one faked step of a provider that fakes each
// step with probability p: 1-(1-p)^k. (For a provider that fakes exactly
// a fraction p of a finite job, sampling without replacement catches it at
// least this often.)
func DetectionProbability(p float64, k uint64) float64 {
	if p <= 0 {
		return 0
	}
	if p >= 1 {
		if k == 0 {
			return 0
		}
		return 1
	}
	return 1 - math.Pow(1-p, float64(k))
}

// DetectionProbabilityDec is DetectionProbability in decimals, for state
// and queries (no floats reach consensus).
func DetectionProbabilityDec(p sdkmath.LegacyDec, k uint64) sdkmath.LegacyDec {
	one := sdkmath.LegacyOneDec()
	if !p.IsPositive() {
		return sdkmath.LegacyZeroDec()
	}
	if p.GTE(one) {
		if k == 0 {
			return sdkmath.LegacyZeroDec()
		}
		return one
	}
	return one.Sub(one.Sub(p).Power(k))
}

// StepsForDetection is the fewest sampled steps that catch a provider
// faking a fraction p of its steps with probability at least target:
// ceil(log(1-target)/log(1-p)). It is 0 when target <= 0 and MaxUint64
// when p <= 0 or target >= 1 (no sample is enough).
func StepsForDetection(p, target float64) uint64 {
	if target <= 0 {
		return 0
	}
	if p >= 1 {
		return 1
	}
	if p <= 0 || target >= 1 {
		return math.MaxUint64
	}
	k := uint64(math.Ceil(math.Log(1-target) / math.Log(1-p)))
	// Guard the rounding of the logarithms.
	for k > 1 && DetectionProbability(p, k-1) >= target {
		k--
	}
	for DetectionProbability(p, k) < target {
		k++
	}
	return k
}
