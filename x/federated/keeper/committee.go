package keeper

import (
	"context"
	"fmt"

	"cosmossdk.io/collections"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/cohortchain/cohort/app/voteext"
	"github.com/cohortchain/cohort/x/federated/types"
)

// drawCommittee samples the validators that aggregate and attest a round
// that goes to aggregation: params.committee_size of the bonded validators,
// each draw weighted by consensus power, from the randomness of the block
// the round's updates completed in (voteext.SampleCommittee). It leaves the
// committee empty, so that the whole bonded set decides, when the module
// has no staking keeper, the size is 0, or the set is no larger than the
// size. The caller stores the round.
func (k Keeper) drawCommittee(ctx context.Context, round *types.Round, params types.Params) error {
	round.Committee = nil
	if k.staking == nil || params.CommitteeSize == 0 {
		return nil
	}
	candidates, err := voteext.BondedMembers(ctx, k.staking)
	if err != nil {
		return err
	}
	if uint32(len(candidates)) <= params.CommitteeSize {
		return nil
	}
	seed := blockSeed(ctx, "cohort/federated/committee/v1", round.RunId, round.Number, round.Attempt)
	for _, m := range voteext.SampleCommittee(seed, candidates, int(params.CommitteeSize)) {
		round.Committee = append(round.Committee, types.CommitteeMember{Operator: m.Operator, ConsAddress: m.Address, Power: m.Power})
	}
	return nil
}

// Committee is the committee of the round named by an attestation subject
// (types.Subject), for the vote-extension router: nil, meaning the whole
// bonded set, when the round has none.
func (k Keeper) Committee(ctx sdk.Context, subject []byte) ([]voteext.Member, error) {
	runID, number, err := types.ParseSubject(subject)
	if err != nil {
		return nil, err
	}
	round, err := k.Rounds.Get(ctx, collections.Join(runID, number))
	if err != nil {
		return nil, fmt.Errorf("%w: run %d round %d", types.ErrRoundNotFound, runID, number)
	}
	members := make([]voteext.Member, len(round.Committee))
	for i, m := range round.Committee {
		members[i] = voteext.Member{Address: m.ConsAddress, Power: m.Power}
	}
	return members, nil
}
