package types

import (
	"fmt"

	sdkmath "cosmossdk.io/math"
)

// This file is the scoring rule of the protocol, in one place.
//
// A score s in [0, 1] moves towards the value v of each outcome by the
// learning rate a (times the severe weight for lost disputes and slashes):
//
//	s' = s + a*(v - s)
//
// and at the end of every epoch drifts back towards the initial score i by
// the decay rate d, so old behaviour counts for less and less:
//
//	s' = i + (1-d)*(s - i)
//
// Both keep s in [0, 1] when a, d and i are in [0, 1].

// Value is what an outcome says about the provider: 1 good, 0 bad.
func (o Outcome) Value() (sdkmath.LegacyDec, error) {
	switch o {
	case OUTCOME_JOB_COMPLETED, OUTCOME_DISPUTE_WON:
		return sdkmath.LegacyOneDec(), nil
	case OUTCOME_JOB_FAILED, OUTCOME_DISPUTE_LOST, OUTCOME_LIVENESS_MISSED, OUTCOME_SLASHED:
		return sdkmath.LegacyZeroDec(), nil
	default:
		return sdkmath.LegacyDec{}, fmt.Errorf("%w: %s", ErrInvalidOutcome, o)
	}
}

// Severe reports whether the outcome weighs severe_weight times more.
func (o Outcome) Severe() bool { return o == OUTCOME_DISPUTE_LOST || o == OUTCOME_SLASHED }

// Learn moves score towards value by rate.
func Learn(score, value, rate sdkmath.LegacyDec) sdkmath.LegacyDec {
	return clamp(score.Add(rate.Mul(value.Sub(score))))
}

// Decay moves score back towards initial by rate.
func Decay(score, initial, rate sdkmath.LegacyDec) sdkmath.LegacyDec {
	return clamp(initial.Add(sdkmath.LegacyOneDec().Sub(rate).Mul(score.Sub(initial))))
}

// LatencyValue is the value of a latency report: 1 at or under target,
// target/latency above it.
func LatencyValue(latencyMs, targetMs uint64) sdkmath.LegacyDec {
	if latencyMs <= targetMs {
		return sdkmath.LegacyOneDec()
	}
	return sdkmath.LegacyNewDecFromInt(sdkmath.NewIntFromUint64(targetMs)).Quo(sdkmath.LegacyNewDecFromInt(sdkmath.NewIntFromUint64(latencyMs)))
}

func clamp(d sdkmath.LegacyDec) sdkmath.LegacyDec {
	if d.IsNegative() {
		return sdkmath.LegacyZeroDec()
	}
	if d.GT(sdkmath.LegacyOneDec()) {
		return sdkmath.LegacyOneDec()
	}
	return d
}
