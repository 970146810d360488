package keeper

import (
	"fmt"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/cohortchain/cohort/app/voteext"
	"github.com/cohortchain/cohort/x/verify/types"
)

// Committee is the committee that decides the task named by subject
// (types.TaskSubject), with the powers it was sampled with. Only OPEN
// tasks have one: attestations for any other task decide nothing.
func (k Keeper) Committee(ctx sdk.Context, subject []byte) ([]voteext.Member, error) {
	id, err := types.ParseTaskSubject(subject)
	if err != nil {
		return nil, err
	}
	t, err := k.GetTask(ctx, id)
	if err != nil {
		return nil, err
	}
	if t.State != types.TASK_STATE_OPEN {
		return nil, fmt.Errorf("%w: task %d is %s", types.ErrInvalidState, id, t.State)
	}
	out := make([]voteext.Member, len(t.Committee))
	for i, m := range t.Committee {
		cons, err := sdk.ConsAddressFromBech32(m.ConsAddress)
		if err != nil {
			return nil, err
		}
		out[i] = voteext.Member{Address: cons, Power: m.Power}
	}
	return out, nil
}

// OnAgreement is the vote-extension handler of kind types.AttestationKind:
// more than 2/3 of the task's committee power attested a.ResultHash. The
// verdict is the one of the task's possible verdicts (Task.Verdicts) whose
// VerdictHash that is; it is recorded and its consequences applied
// (applyVerdict), and the committee is paid and held to account
// (payCommittee). Any error leaves the task OPEN (the router discards the
// handler's writes).
func (k Keeper) OnAgreement(ctx sdk.Context, a voteext.Agreement) error {
	id, err := types.ParseTaskSubject(a.Subject)
	if err != nil {
		return err
	}
	t, err := k.GetTask(ctx, id)
	if err != nil {
		return err
	}
	if t.State != types.TASK_STATE_OPEN {
		return fmt.Errorf("%w: task %d is %s", types.ErrInvalidState, id, t.State)
	}
	v, err := t.MatchVerdict(a.ResultHash)
	if err != nil {
		return err
	}
	params, err := k.Params.Get(ctx)
	if err != nil {
		return err
	}
	if err := k.payCommittee(ctx, params, &t, a); err != nil {
		return err
	}
	return k.applyVerdict(ctx, params, &t, v)
}
