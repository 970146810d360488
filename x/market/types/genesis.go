package types

import (
	"fmt"

	"cosmossdk.io/core/address"
)

// DefaultGenesis is the module's state on a new chain.
func DefaultGenesis() *GenesisState { return &GenesisState{Params: DefaultParams(), NextJobId: 1} }

// Validate checks params, that job ids are unique and below next_job_id,
// that finished jobs hold no escrow, and that bids refer to known jobs.
func (gs GenesisState) Validate(ac address.Codec) error {
	if err := gs.Params.Validate(ac); err != nil {
		return err
	}
	if gs.NextJobId == 0 {
		return fmt.Errorf("%w: next_job_id must be at least 1", ErrInvalidGenesis)
	}
	jobs := map[uint64]bool{}
	for i, j := range gs.Jobs {
		if j.Id == 0 || j.Id >= gs.NextJobId || jobs[j.Id] {
			return fmt.Errorf("%w: jobs[%d]: id %d is zero, repeated or not below next_job_id", ErrInvalidGenesis, i, j.Id)
		}
		jobs[j.Id] = true
		if _, err := ac.StringToBytes(j.Client); err != nil {
			return fmt.Errorf("%w: jobs[%d].client: %v", ErrInvalidGenesis, i, err)
		}
		if j.State == JOB_STATE_UNSPECIFIED {
			return fmt.Errorf("%w: jobs[%d].state is unspecified", ErrInvalidGenesis, i)
		}
		if j.State.Terminal() && !j.Escrow.IsZero() {
			return fmt.Errorf("%w: jobs[%d] is finished but holds %s", ErrInvalidGenesis, i, j.Escrow)
		}
		if (j.State == JOB_STATE_LEASED || j.State == JOB_STATE_SUBMITTED || j.State == JOB_STATE_DISPUTED) && j.Lease == nil {
			return fmt.Errorf("%w: jobs[%d] is %s without a lease", ErrInvalidGenesis, i, j.State)
		}
	}
	type key struct {
		job      uint64
		provider string
	}
	bids := map[key]bool{}
	for i, b := range gs.Bids {
		if !jobs[b.JobId] {
			return fmt.Errorf("%w: bids[%d]: unknown job %d", ErrInvalidGenesis, i, b.JobId)
		}
		if _, err := ac.StringToBytes(b.Provider); err != nil {
			return fmt.Errorf("%w: bids[%d].provider: %v", ErrInvalidGenesis, i, err)
		}
		k := key{b.JobId, b.Provider}
		if bids[k] {
			return fmt.Errorf("%w: bids[%d] repeats a bid", ErrInvalidGenesis, i)
		}
		bids[k] = true
	}
	return nil
}
