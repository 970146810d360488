package types

import (
	"fmt"

	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"
)

// DefaultParams are the parameters of a new chain: 1,000 COHORT minimum
// collateral; liveness and unbonding counted in hours; a day to unbond;
// inactive after 2 silent hours, jailed after 6, for 6; half of a slash
// burned; a slash of 10% or more of the collateral jails.
func DefaultParams() Params {
	return Params{
		MinCollateral:       sdk.NewCoin(sdk.DefaultBondDenom, sdkmath.NewInt(1_000_000_000)),
		EpochIdentifier:     "hour",
		UnbondingEpochs:     24,
		InactiveAfterEpochs: 2,
		JailAfterEpochs:     6,
		JailEpochs:          6,
		SlashBurnFraction:   sdkmath.LegacyNewDecWithPrec(5, 1),
		SevereSlashFraction: sdkmath.LegacyNewDecWithPrec(1, 1),
	}
}

// Validate checks every parameter.
func (p Params) Validate() error {
	if err := p.MinCollateral.Validate(); err != nil {
		return fmt.Errorf("%w: min_collateral: %v", ErrInvalidParams, err)
	}
	if p.EpochIdentifier == "" {
		return fmt.Errorf("%w: epoch_identifier is empty", ErrInvalidParams)
	}
	if p.UnbondingEpochs < 1 {
		return fmt.Errorf("%w: unbonding_epochs must be at least 1", ErrInvalidParams)
	}
	if p.InactiveAfterEpochs < 1 || p.JailAfterEpochs < p.InactiveAfterEpochs {
		return fmt.Errorf("%w: need 1 <= inactive_after_epochs <= jail_after_epochs", ErrInvalidParams)
	}
	if p.JailEpochs < 1 {
		return fmt.Errorf("%w: jail_epochs must be at least 1", ErrInvalidParams)
	}
	for name, d := range map[string]sdkmath.LegacyDec{"slash_burn_fraction": p.SlashBurnFraction, "severe_slash_fraction": p.SevereSlashFraction} {
		if d.IsNil() || d.IsNegative() || d.GT(sdkmath.LegacyOneDec()) {
			return fmt.Errorf("%w: %s must be in [0, 1]", ErrInvalidParams, name)
		}
	}
	return nil
}
