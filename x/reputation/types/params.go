package types

import (
	"fmt"

	sdkmath "cosmossdk.io/math"
)

// DefaultParams: start at 0.5; each outcome moves the score 10% of the way
// to its value (lost disputes and slashes three times as far); scores drift
// 1% per hour back towards 0.5; 200 ms is the latency target.
func DefaultParams() Params {
	return Params{
		InitialScore:    sdkmath.LegacyNewDecWithPrec(5, 1),
		LearningRate:    sdkmath.LegacyNewDecWithPrec(1, 1),
		SevereWeight:    sdkmath.LegacyNewDec(3),
		DecayRate:       sdkmath.LegacyNewDecWithPrec(1, 2),
		EpochIdentifier: "hour",
		TargetLatencyMs: 200,
	}
}

// Validate checks the params: fractions in [0, 1] and a learning rate that
// stays in [0, 1] when multiplied by the severe weight.
func (p Params) Validate() error {
	unit := func(name string, d sdkmath.LegacyDec) error {
		if d.IsNil() || d.IsNegative() || d.GT(sdkmath.LegacyOneDec()) {
			return fmt.Errorf("%w: %s must be in [0, 1]", ErrInvalidParams, name)
		}
		return nil
	}
	for name, d := range map[string]sdkmath.LegacyDec{"initial_score": p.InitialScore, "learning_rate": p.LearningRate, "decay_rate": p.DecayRate} {
		if err := unit(name, d); err != nil {
			return err
		}
	}
	if p.SevereWeight.IsNil() || p.SevereWeight.LT(sdkmath.LegacyOneDec()) {
		return fmt.Errorf("%w: severe_weight must be at least 1", ErrInvalidParams)
	}
	if err := unit("learning_rate * severe_weight", p.LearningRate.Mul(p.SevereWeight)); err != nil {
		return err
	}
	if p.EpochIdentifier == "" {
		return fmt.Errorf("%w: epoch_identifier is empty", ErrInvalidParams)
	}
	if p.TargetLatencyMs == 0 {
		return fmt.Errorf("%w: target_latency_ms must be positive", ErrInvalidParams)
	}
	return nil
}
