package types

import (
	"fmt"

	"cosmossdk.io/core/address"
	sdkmath "cosmossdk.io/math"
)

// DefaultGenesis is the module's state on a new chain.
func DefaultGenesis() *GenesisState { return &GenesisState{Params: DefaultParams(), NextRunId: 1} }

// Validate checks params, run ids, that finished runs hold no escrow and
// that participants, rounds and updates refer to known runs.
func (gs GenesisState) Validate(ac address.Codec) error {
	if err := gs.Params.Validate(); err != nil {
		return err
	}
	if gs.NextRunId == 0 {
		return fmt.Errorf("%w: next_run_id must be at least 1", ErrInvalidGenesis)
	}
	runs := map[uint64]bool{}
	for i, r := range gs.Runs {
		if r.Id == 0 || r.Id >= gs.NextRunId || runs[r.Id] {
			return fmt.Errorf("%w: runs[%d]: id %d is zero, repeated or not below next_run_id", ErrInvalidGenesis, i, r.Id)
		}
		runs[r.Id] = true
		if _, err := ac.StringToBytes(r.Client); err != nil {
			return fmt.Errorf("%w: runs[%d].client: %v", ErrInvalidGenesis, i, err)
		}
		if r.State == RUN_STATE_UNSPECIFIED {
			return fmt.Errorf("%w: runs[%d].state is unspecified", ErrInvalidGenesis, i)
		}
		if r.DpEpsilonSpent != "" {
			if eps, err := sdkmath.LegacyNewDecFromStr(r.DpEpsilonSpent); err != nil || eps.IsNegative() {
				return fmt.Errorf("%w: runs[%d].dp_epsilon_spent %q is not a non-negative decimal", ErrInvalidGenesis, i, r.DpEpsilonSpent)
			}
		}
		if r.State.Terminal() && !r.Escrow.IsZero() {
			return fmt.Errorf("%w: runs[%d] is finished but holds %s", ErrInvalidGenesis, i, r.Escrow)
		}
	}
	type pk struct {
		run uint64
		p   string
	}
	parts := map[pk]bool{}
	for i, p := range gs.Participants {
		if !runs[p.RunId] {
			return fmt.Errorf("%w: participants[%d]: unknown run %d", ErrInvalidGenesis, i, p.RunId)
		}
		if _, err := ac.StringToBytes(p.Provider); err != nil {
			return fmt.Errorf("%w: participants[%d].provider: %v", ErrInvalidGenesis, i, err)
		}
		if len(p.DataRoot) > 0 || p.DataSize > 0 {
			if err := ValidateDataCommitment(p.DataRoot, p.DataSize); err != nil {
				return fmt.Errorf("%w: participants[%d]: %v", ErrInvalidGenesis, i, err)
			}
		}
		if parts[pk{p.RunId, p.Provider}] {
			return fmt.Errorf("%w: participants[%d] repeats", ErrInvalidGenesis, i)
		}
		parts[pk{p.RunId, p.Provider}] = true
	}
	type rk struct {
		run   uint64
		round uint32
	}
	rounds := map[rk]bool{}
	for i, r := range gs.Rounds {
		if !runs[r.RunId] || r.Number == 0 || rounds[rk{r.RunId, r.Number}] {
			return fmt.Errorf("%w: rounds[%d]: unknown run, zero or repeated round", ErrInvalidGenesis, i)
		}
		rounds[rk{r.RunId, r.Number}] = true
	}
	for i, r := range gs.Runs {
		if r.State == RUN_STATE_TRAINING && (r.CurrentRound == 0 || !rounds[rk{r.Id, r.CurrentRound}]) {
			return fmt.Errorf("%w: runs[%d] is training without its current round %d", ErrInvalidGenesis, i, r.CurrentRound)
		}
	}
	for i, u := range gs.Updates {
		if !rounds[rk{u.RunId, u.Round}] {
			return fmt.Errorf("%w: updates[%d]: unknown round", ErrInvalidGenesis, i)
		}
		if _, err := ac.StringToBytes(u.Participant); err != nil {
			return fmt.Errorf("%w: updates[%d].participant: %v", ErrInvalidGenesis, i, err)
		}
	}
	for i, m := range gs.SecaggMessages {
		if !rounds[rk{m.RunId, m.Round}] {
			return fmt.Errorf("%w: secagg_messages[%d]: unknown round", ErrInvalidGenesis, i)
		}
		if _, err := ac.StringToBytes(m.Participant); err != nil {
			return fmt.Errorf("%w: secagg_messages[%d].participant: %v", ErrInvalidGenesis, i, err)
		}
		if m.Stage == SECAGG_STAGE_UNSPECIFIED || m.Stage == SECAGG_STAGE_MASKED_INPUT || ValidateHash("hash", m.Hash) != nil {
			return fmt.Errorf("%w: secagg_messages[%d]: bad stage %s or hash", ErrInvalidGenesis, i, m.Stage)
		}
	}
	return nil
}
