package keeper_test

import (
	"fmt"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cohortchain/cohort/x/federated/types"
)

// TestRandomOperationsConserveTokens drives runs through random joins,
// updates, cancellations, agreements, finalisations and blocks, and checks
// after every step that the module account holds exactly the escrow of the
// runs, that finished runs hold none, and that the watched balances add up
// to a constant: the module never creates or loses a token.
func TestRandomOperationsConserveTokens(t *testing.T) {
	for seed := int64(1); seed <= 4; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewSource(seed))
			f := setup(t)
			total := f.total()
			h := f.ctx.BlockHeight()
			var runs []uint64
			tag := 0
			for step := 0; step < 300; step++ {
				active := 0
				for _, id := range runs {
					if !f.run(t, id).State.Terminal() {
						active++
					}
				}
				switch op := rng.Intn(10); {
				case op == 0 && active < 4:
					s := spec()
					s.Rounds = uint32(1 + rng.Intn(3))
					s.MinParticipants = uint32(1 + rng.Intn(2))
					s.MaxParticipants = s.MinParticipants + uint32(rng.Intn(3))
					s.RewardPerUpdate = coin(int64(1 + rng.Intn(5_000)))
					id := f.create(t, s)
					runs = append(runs, id)
					for _, i := range rng.Perm(len(f.providers))[:rng.Intn(len(f.providers)+1)] {
						f.join(t, id, f.providers[i])
					}
				case op == 1 && len(runs) > 0:
					id := runs[rng.Intn(len(runs))]
					_, _ = f.msg.JoinRun(f.ctx, &types.MsgJoinRun{Provider: f.providers[rng.Intn(len(f.providers))].String(), RunId: id})
				case op <= 4 && len(runs) > 0:
					id := runs[rng.Intn(len(runs))]
					r := f.run(t, id)
					if r.State != types.RUN_STATE_TRAINING {
						continue
					}
					round := f.round(t, id, r.CurrentRound)
					if len(round.Selected) == 0 {
						continue
					}
					tag++
					p := addr(t, round.Selected[rng.Intn(len(round.Selected))])
					_, _ = f.msg.SubmitUpdate(f.ctx, update(p, id, r.CurrentRound, fmt.Sprint("u", tag)))
				case op == 5 && len(runs) > 0 && rng.Intn(4) == 0:
					_, _ = f.msg.CancelRun(f.ctx, &types.MsgCancelRun{Client: f.client.String(), RunId: runs[rng.Intn(len(runs))]})
				case op <= 7 && len(runs) > 0:
					// The validators agree on an aggregate of some of the round's updates, and it is revealed.
					id := runs[rng.Intn(len(runs))]
					r := f.run(t, id)
					if r.State != types.RUN_STATE_TRAINING {
						continue
					}
					ups, err := f.q.Updates(f.ctx, &types.QueryUpdatesRequest{RunId: id, Round: r.CurrentRound})
					require.NoError(t, err)
					var accepted [][]byte
					for _, u := range ups.Updates {
						if rng.Intn(3) > 0 {
							accepted = append(accepted, u.Hash)
						}
					}
					if len(accepted) == 0 {
						continue
					}
					res := types.RoundResult{RunId: id, Round: r.CurrentRound, NewWeightsHash: hash(fmt.Sprint("w", step)),
						NewWeightsLocation: "https://agg.example/w", AcceptedUpdates: accepted}
					if f.k.OnAgreement(f.ctx, types.Subject(id, r.CurrentRound), res.ResultHash()) == nil {
						_, _ = f.msg.FinalizeRound(f.ctx, &types.MsgFinalizeRound{Sender: f.stranger.String(), Result: res})
					}
				default:
					h += int64(1 + rng.Intn(4))
					f.endBlock(t, h)
				}
				f.invariants(t)
				require.Equal(t, total, f.total(), "step %d", step)
			}
			states := map[types.RunState]int{}
			var paid int64
			for _, id := range runs {
				r := f.run(t, id)
				states[r.State]++
				paid += r.Paid.Amount.Int64()
			}
			t.Logf("runs by state %v; rewards paid %d", states, paid)
			// Whatever is left unfinished is cancelled: everything unspent goes back.
			for _, id := range runs {
				if !f.run(t, id).State.Terminal() {
					_, err := f.msg.CancelRun(f.ctx, &types.MsgCancelRun{Client: f.client.String(), RunId: id})
					require.NoError(t, err)
				}
			}
			f.invariants(t)
			require.True(t, f.bal(f.k.ModuleAddress()) == 0, "the module holds nothing once every run is finished")
			require.Equal(t, total, f.total())
		})
	}
}
