package types

import (
	"fmt"

	"cosmossdk.io/core/address"
)

// DefaultGenesis is the provider module's state on a new chain.
func DefaultGenesis() *GenesisState {
	return &GenesisState{Params: DefaultParams(), NextUnbondingId: 1}
}

// Validate checks the genesis state: valid params, one record per
// provider, valid providers, unbondings of known providers with unique ids
// below next_unbonding_id, all in the collateral denom.
func (gs GenesisState) Validate(ac address.Codec) error {
	if err := gs.Params.Validate(); err != nil {
		return err
	}
	denom := gs.Params.MinCollateral.Denom
	seen := map[string]bool{}
	for i, p := range gs.Providers {
		if _, err := ac.StringToBytes(p.Operator); err != nil {
			return fmt.Errorf("%w: providers[%d].operator: %v", ErrInvalidGenesis, i, err)
		}
		if seen[p.Operator] {
			return fmt.Errorf("%w: providers[%d]: %s appears twice", ErrInvalidGenesis, i, p.Operator)
		}
		seen[p.Operator] = true
		if err := p.Info().Validate(); err != nil {
			return fmt.Errorf("%w: providers[%d]: %v", ErrInvalidGenesis, i, err)
		}
		if p.Collateral.Denom != denom || p.Collateral.IsNegative() {
			return fmt.Errorf("%w: providers[%d].collateral must be a non-negative amount of %s", ErrInvalidGenesis, i, denom)
		}
		if p.Status == STATUS_UNSPECIFIED {
			return fmt.Errorf("%w: providers[%d].status is unspecified", ErrInvalidGenesis, i)
		}
	}
	ids := map[uint64]bool{}
	for i, u := range gs.Unbondings {
		if !seen[u.Operator] {
			return fmt.Errorf("%w: unbondings[%d]: unknown provider %s", ErrInvalidGenesis, i, u.Operator)
		}
		if u.Id == 0 || u.Id >= gs.NextUnbondingId || ids[u.Id] {
			return fmt.Errorf("%w: unbondings[%d]: id %d is zero, repeated or not below next_unbonding_id", ErrInvalidGenesis, i, u.Id)
		}
		ids[u.Id] = true
		if u.Amount.Denom != denom || !u.Amount.IsPositive() {
			return fmt.Errorf("%w: unbondings[%d].amount must be a positive amount of %s", ErrInvalidGenesis, i, denom)
		}
	}
	if gs.NextUnbondingId == 0 {
		return fmt.Errorf("%w: next_unbonding_id must be at least 1", ErrInvalidGenesis)
	}
	return nil
}
