package types

import (
	"fmt"

	sdkmath "cosmossdk.io/math"
)

// This file is the scoring rule of the protocol, in one place.
//
// A score s in [0, 1] moves towards the value v of each outcome by the
// learning rate a times the outcome's weight w (Outcome.Weight):
//
//	s' = s + a*w*(v - s)
//
// with w = 1 for ordinary outcomes, w = severe_weight for lost disputes and
// slashes, and w = (1 + severe_weight)/2 for a federated update rejected as
// an outlier: worse than a failed job, milder than a lost dispute, since a
// robust aggregation rule may drop an honest update from an unusual data
// distribution. Federated outcomes read like market ones: an accepted
// update is worth a completed job (v = 1, w = 1) and a selected participant
// that sent nothing by the round deadline a failed job (v = 0, w = 1).
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
	case OUTCOME_JOB_COMPLETED, OUTCOME_DISPUTE_WON, OUTCOME_FEDERATED_UPDATE_ACCEPTED, OUTCOME_VERIFICATION_PASSED:
		return sdkmath.LegacyOneDec(), nil
	case OUTCOME_JOB_FAILED, OUTCOME_DISPUTE_LOST, OUTCOME_LIVENESS_MISSED, OUTCOME_SLASHED,
		OUTCOME_FEDERATED_UPDATE_REJECTED, OUTCOME_FEDERATED_UPDATE_MISSED,
		OUTCOME_VERIFICATION_FAILED, OUTCOME_VERIFICATION_UNAVAILABLE:
		return sdkmath.LegacyZeroDec(), nil
	default:
		return sdkmath.LegacyDec{}, fmt.Errorf("%w: %s", ErrInvalidOutcome, o)
	}
}

// Severe reports whether the outcome weighs severe_weight times more.
func (o Outcome) Severe() bool {
	return o == OUTCOME_DISPUTE_LOST || o == OUTCOME_SLASHED || o == OUTCOME_VERIFICATION_FAILED
}

// Weight multiplies the learning rate for the outcome: severeWeight for
// severe outcomes, (1 + severeWeight)/2 for a federated update rejected as
// an outlier, 1 otherwise. With severeWeight >= 1 and learning_rate *
// severe_weight <= 1 (Params.Validate), learning_rate * Weight stays in
// [0, 1], so Learn keeps the score in [0, 1].
func (o Outcome) Weight(severeWeight sdkmath.LegacyDec) sdkmath.LegacyDec {
	switch {
	case o.Severe():
		return severeWeight
	case o == OUTCOME_FEDERATED_UPDATE_REJECTED:
		return sdkmath.LegacyOneDec().Add(severeWeight).QuoInt64(2)
	default:
		return sdkmath.LegacyOneDec()
	}
}

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
