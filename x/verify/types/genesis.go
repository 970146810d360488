package types

import (
	"fmt"

	"cosmossdk.io/core/address"

	sdk "github.com/cosmos/cosmos-sdk/types"
)

// DefaultGenesis is the module's state on a new chain.
func DefaultGenesis() *GenesisState {
	return &GenesisState{Params: DefaultParams(), NextTaskId: 1}
}

// Validate checks params, that task ids are unique and below next_task_id,
// that every task's work is valid, that open tasks have a committee and a
// sample, and that the records name valid addresses once each.
func (gs GenesisState) Validate(ac address.Codec) error {
	if err := gs.Params.Validate(); err != nil {
		return err
	}
	if gs.NextTaskId == 0 {
		return fmt.Errorf("%w: next_task_id must be at least 1", ErrInvalidGenesis)
	}
	seen := map[uint64]bool{}
	for i, t := range gs.Tasks {
		if t.Id == 0 || t.Id >= gs.NextTaskId || seen[t.Id] {
			return fmt.Errorf("%w: tasks[%d]: id %d is zero, repeated or not below next_task_id", ErrInvalidGenesis, i, t.Id)
		}
		seen[t.Id] = true
		if err := t.Work.Validate(ac); err != nil {
			return fmt.Errorf("%w: tasks[%d]: %v", ErrInvalidGenesis, i, err)
		}
		if _, ok := TaskState_name[int32(t.State)]; !ok || t.State == TASK_STATE_UNSPECIFIED {
			return fmt.Errorf("%w: tasks[%d]: state %d", ErrInvalidGenesis, i, t.State)
		}
		if t.State != TASK_STATE_PENDING && len(t.SampledSteps) == 0 {
			return fmt.Errorf("%w: tasks[%d] was drawn but has no sample", ErrInvalidGenesis, i)
		}
		if t.State == TASK_STATE_OPEN && len(t.Committee) == 0 {
			return fmt.Errorf("%w: tasks[%d] is open without a committee", ErrInvalidGenesis, i)
		}
		for j, m := range t.Committee {
			if _, err := sdk.ConsAddressFromBech32(m.ConsAddress); err != nil {
				return fmt.Errorf("%w: tasks[%d].committee[%d]: %v", ErrInvalidGenesis, i, j, err)
			}
			if _, err := parseAddr(ac, m.Operator); err != nil || m.Power <= 0 {
				return fmt.Errorf("%w: tasks[%d].committee[%d]: operator or power invalid", ErrInvalidGenesis, i, j)
			}
		}
	}
	vals := map[string]bool{}
	for i, v := range gs.Validators {
		if _, err := sdk.ConsAddressFromBech32(v.ConsAddress); err != nil || vals[v.ConsAddress] {
			return fmt.Errorf("%w: validators[%d]: address invalid or repeated", ErrInvalidGenesis, i)
		}
		vals[v.ConsAddress] = true
	}
	provs := map[string]bool{}
	for i, p := range gs.Providers {
		if _, err := parseAddr(ac, p.Provider); err != nil || provs[p.Provider] {
			return fmt.Errorf("%w: providers[%d]: address invalid or repeated", ErrInvalidGenesis, i)
		}
		provs[p.Provider] = true
	}
	return nil
}
