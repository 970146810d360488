package testutil

import (
	"crypto/sha256"
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/require"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/cohortchain/cohort/app"
	"github.com/cohortchain/cohort/app/voteext"
	verifytypes "github.com/cohortchain/cohort/x/verify/types"
)

// DrawTasks moves ctx to the next block, with a header hash derived from
// its height, and runs x/verify's BeginBlocker there: every task committed
// before it is drawn (sample, committee) and opened.
func DrawTasks(t testing.TB, a *app.App, ctx sdk.Context) sdk.Context {
	t.Helper()
	h := ctx.BlockHeight() + 1
	hash := sha256.Sum256(binary.BigEndian.AppendUint64([]byte("header"), uint64(h)))
	ctx = ctx.WithBlockHeight(h).WithHeaderHash(hash[:])
	require.NoError(t, a.VerifyKeeper.BeginBlocker(ctx))
	return ctx
}

// Verdict is the verdict of outcome on task id: a FAIL diverges at the
// first sampled step.
func Verdict(t testing.TB, a *app.App, ctx sdk.Context, id uint64, outcome verifytypes.Outcome) verifytypes.Verdict {
	t.Helper()
	task, err := a.VerifyKeeper.GetTask(ctx, id)
	require.NoError(t, err)
	v := verifytypes.Verdict{TaskId: id, Outcome: outcome}
	if outcome == verifytypes.OUTCOME_FAIL {
		require.NotEmpty(t, task.SampledSteps)
		v.FirstDivergentStep = task.SampledSteps[0]
	}
	return v
}

// AgreeOnTask has the whole committee of OPEN task id attest outcome, as
// the PreBlocker would hand it to x/verify, and returns the handler's error.
func AgreeOnTask(t testing.TB, a *app.App, ctx sdk.Context, id uint64, outcome verifytypes.Outcome) error {
	t.Helper()
	members, err := a.VerifyKeeper.Committee(ctx, verifytypes.TaskSubject(id))
	if err != nil {
		return err
	}
	ag := voteext.Agreement{Kind: verifytypes.AttestationKind, Subject: verifytypes.TaskSubject(id),
		ResultHash: verifytypes.VerdictHash(Verdict(t, a, ctx, id, outcome))}
	for _, m := range members {
		ag.Voters = append(ag.Voters, m.Address)
		ag.Power += m.Power
	}
	ag.TotalPower = ag.Power
	return a.VerifyKeeper.OnAgreement(ctx, ag)
}
