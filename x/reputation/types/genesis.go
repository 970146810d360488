package types

import (
	"fmt"

	"cosmossdk.io/core/address"
	sdkmath "cosmossdk.io/math"
)

// DefaultGenesis is the module's state on a new chain.
func DefaultGenesis() *GenesisState { return &GenesisState{Params: DefaultParams()} }

// Validate checks params and that each provider has one record with a
// score in [0, 1].
func (gs GenesisState) Validate(ac address.Codec) error {
	if err := gs.Params.Validate(); err != nil {
		return err
	}
	seen := map[string]bool{}
	for i, r := range gs.Reputations {
		if _, err := ac.StringToBytes(r.Operator); err != nil {
			return fmt.Errorf("%w: reputations[%d].operator: %v", ErrInvalidGenesis, i, err)
		}
		if seen[r.Operator] {
			return fmt.Errorf("%w: reputations[%d]: %s twice", ErrInvalidGenesis, i, r.Operator)
		}
		seen[r.Operator] = true
		if r.Score.IsNil() || r.Score.IsNegative() || r.Score.GT(sdkmath.LegacyOneDec()) {
			return fmt.Errorf("%w: reputations[%d].score must be in [0, 1]", ErrInvalidGenesis, i)
		}
	}
	return nil
}
