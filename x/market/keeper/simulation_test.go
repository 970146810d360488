package keeper_test

import (
	"encoding/json"
	"fmt"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"

	"cosmossdk.io/collections"
	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/cohortchain/cohort/app"
	"github.com/cohortchain/cohort/testutil"
	"github.com/cohortchain/cohort/x/market/keeper"
	"github.com/cohortchain/cohort/x/market/types"
	providerkeeper "github.com/cohortchain/cohort/x/provider/keeper"
	providertypes "github.com/cohortchain/cohort/x/provider/types"
	verifytypes "github.com/cohortchain/cohort/x/verify/types"
)

// TestRandomizedConservation drives many clients and providers through
// random market and collateral actions, block after block, and checks after
// every block that no token was created or lost: the market holds exactly
// its escrow, deposits and bonds; the provider module exactly its
// collateral and unbondings; and the total supply fell by exactly what
// slashing burned.
func TestRandomizedConservation(t *testing.T) {
	blocks := 300
	if testing.Short() {
		blocks = 60
	}
	for _, seed := range []int64{1, 2, 3} {
		t.Run(fmt.Sprintf("seed %d", seed), func(t *testing.T) { simulate(t, seed, blocks) })
	}
}

func simulate(t *testing.T, seed int64, blocks int) {
	r := rand.New(rand.NewSource(seed))
	c := testutil.NewChain(t)
	ctx := c.Context(t)
	mk, pk := c.App.MarketKeeper, c.App.ProviderKeeper
	msg, pmsg := keeper.NewMsgServer(mk), providerkeeper.NewMsgServer(pk)

	var clients, providers []sdk.AccAddress
	for i := 0; i < 8; i++ {
		clients = append(clients, c.Fund(t, ctx, 50_000_000_000, testutil.Addr(fmt.Sprintf("sim-client-%d", i)))...)
	}
	for i := 0; i < 6; i++ {
		p := testutil.Addr(fmt.Sprintf("sim-provider-%d", i))
		registerProvider(t, c, ctx, p, h100)
		providers = append(providers, p)
	}
	inference := registerModel(t, c, ctx, providers[0], "sim-model", 3, true)
	vk := c.App.VerifyKeeper
	supply0 := c.App.BankKeeper.GetSupply(ctx, app.BaseDenom).Amount
	burned := sdkmath.ZeroInt()
	var jobIDs []uint64
	pick := func(addrs []sdk.AccAddress) sdk.AccAddress { return addrs[r.Intn(len(addrs))] }
	pickJob := func() uint64 {
		if len(jobIDs) == 0 {
			return 1
		}
		return jobIDs[r.Intn(len(jobIDs))]
	}
	// pickIn mostly picks a job in state, so that actions usually apply;
	// sometimes any job, so that refusals are exercised too.
	pickIn := func(ctx sdk.Context, state types.JobState) uint64 {
		if r.Intn(5) == 0 {
			return pickJob()
		}
		it, err := mk.JobsByState.Iterate(ctx, collections.NewPrefixedPairRange[int32, uint64](int32(state)))
		require.NoError(t, err)
		keys, err := it.Keys()
		require.NoError(t, err)
		if len(keys) == 0 {
			return pickJob()
		}
		return keys[r.Intn(len(keys))].K2()
	}
	ok, failed := 0, 0

	for b := 0; b < blocks; b++ {
		ctx = testutil.DrawTasks(t, c.App, ctx.WithEventManager(sdk.NewEventManager()))
		for n := r.Intn(6); n > 0; n-- {
			// Each action runs as a transaction would: in a cache, kept
			// only when it succeeds.
			tx, write := ctx.CacheContext()
			var err error
			switch r.Intn(13) {
			case 0, 1:
				units := uint64(1 + r.Intn(50))
				price := int64(1 + r.Intn(1000))
				kind, budget, sp := types.JOB_KIND_TRAINING, price*int64(units)+int64(r.Intn(1000)), spec()
				if r.Intn(3) == 0 { // metered, with only part of its cost (and licence) escrowed
					kind, budget, sp = types.JOB_KIND_INFERENCE, (price+3)*int64(1+r.Intn(int(units))), inference
				}
				var res *types.MsgCreateJobResponse
				res, err = msg.CreateJob(tx, &types.MsgCreateJob{Client: pick(clients).String(), Kind: kind, Spec: sp,
					Units: units, MaxPrice: coin(price), Budget: coin(budget), DeadlineBlocks: int64(25 + r.Intn(40))})
				if err == nil {
					jobIDs = append(jobIDs, res.JobId)
				}
			case 2, 3:
				_, err = msg.PlaceBid(tx, &types.MsgPlaceBid{Provider: pick(providers).String(), JobId: pickIn(tx, types.JOB_STATE_OPEN), Price: coin(int64(1 + r.Intn(1000))), Deposit: coin(1_000_000)})
			case 4:
				j, e := mk.GetJob(tx, pickIn(tx, types.JOB_STATE_OPEN))
				if e == nil {
					_, err = msg.AcceptBid(tx, &types.MsgAcceptBid{Client: j.Client, JobId: j.Id, Provider: pick(providers).String()})
				}
			case 5:
				j, e := mk.GetJob(tx, pickIn(tx, types.JOB_STATE_LEASED))
				if e == nil && j.Lease != nil {
					_, err = msg.SubmitResult(tx, &types.MsgSubmitResult{Provider: j.Lease.Provider, JobId: j.Id, Result: result()})
				}
			case 6:
				j, e := mk.GetJob(tx, pickIn(tx, types.JOB_STATE_SUBMITTED))
				if e == nil {
					_, err = msg.Dispute(tx, &types.MsgDispute{Disputer: j.Client, JobId: j.Id, Reason: "sim"})
				}
			case 7: // a verification committee agrees on a verdict
				it, e := vk.TasksByState.Iterate(tx, collections.NewPrefixedPairRange[int32, uint64](int32(verifytypes.TASK_STATE_OPEN)))
				require.NoError(t, e)
				keys, e := it.Keys()
				require.NoError(t, e)
				id := uint64(1 + r.Intn(100))
				if len(keys) > 0 && r.Intn(5) > 0 {
					id = keys[r.Intn(len(keys))].K2()
				}
				outcomes := []verifytypes.Outcome{verifytypes.OUTCOME_PASS, verifytypes.OUTCOME_FAIL, verifytypes.OUTCOME_UNAVAILABLE}
				err = testutil.AgreeOnTask(t, c.App, tx, id, outcomes[r.Intn(len(outcomes))])
			case 8:
				j, e := mk.GetJob(tx, pickIn(tx, types.JOB_STATE_SUBMITTED))
				if e == nil {
					if r.Intn(3) == 0 {
						_, err = msg.CancelJob(tx, &types.MsgCancelJob{Client: j.Client, JobId: j.Id})
					} else {
						_, err = msg.AcceptResult(tx, &types.MsgAcceptResult{Client: j.Client, JobId: j.Id})
					}
				}
			case 9:
				_, err = msg.CloseBid(tx, &types.MsgCloseBid{Provider: pick(providers).String(), JobId: pickJob()})
			case 11:
				j, e := mk.GetJob(tx, pickIn(tx, types.JOB_STATE_LEASED))
				if e == nil && j.Lease != nil {
					err = mk.ClaimUnitsForTest(tx, j.Lease.Provider, j.Id, uint64(1+r.Intn(20)))
				}
			case 12:
				j, e := mk.GetJob(tx, pickIn(tx, types.JOB_STATE_PAUSED))
				if e == nil {
					_, err = msg.TopUp(tx, &types.MsgTopUp{Client: j.Client, JobId: j.Id, Amount: coin(int64(1 + r.Intn(20_000)))})
				}
			case 10:
				p := pick(providers)
				if r.Intn(2) == 0 {
					_, err = pmsg.BondCollateral(tx, &providertypes.MsgBondCollateral{Operator: p.String(), Amount: coin(int64(1 + r.Intn(100_000_000)))})
				} else {
					_, err = pmsg.UnbondCollateral(tx, &providertypes.MsgUnbondCollateral{Operator: p.String(), Amount: coin(int64(1 + r.Intn(300_000_000)))})
				}
			}
			if err == nil {
				write()
				ok++
			} else {
				failed++
			}
		}
		require.NoError(t, mk.EndBlocker(ctx))
		require.NoError(t, vk.EndBlocker(ctx))
		if b%10 == 9 {
			require.NoError(t, pk.AfterEpochEnd(ctx, providertypes.DefaultParams().EpochIdentifier, int64(b/10)))
			for _, p := range providers { // keep them alive, and back in service
				_, _ = pmsg.Heartbeat(ctx, &providertypes.MsgHeartbeat{Operator: p.String()})
				if cctx, w := ctx.CacheContext(); func() bool {
					_, e := pmsg.Unjail(cctx, &providertypes.MsgUnjail{Operator: p.String()})
					return e == nil
				}() {
					w()
				}
			}
		}
		burned = burned.Add(burnedIn(t, ctx.EventManager().Events()))

		require.NoError(t, mk.EscrowInvariant(ctx), "block %d", b)
		require.NoError(t, vk.FeeInvariant(ctx), "block %d", b)
		require.NoError(t, pk.CollateralInvariant(ctx, c.App.AccountKeeper.GetModuleAddress(providertypes.ModuleName)), "block %d", b)
		require.Equal(t, supply0.Sub(burned), c.App.BankKeeper.GetSupply(ctx, app.BaseDenom).Amount, "block %d: supply moved by other than burning", b)
	}
	states := map[types.JobState]int{}
	for _, id := range jobIDs {
		j, err := mk.GetJob(ctx, id)
		require.NoError(t, err)
		states[j.State]++
	}
	t.Logf("seed %d: %d actions applied, %d refused; %d jobs by state %v; burned %s", seed, ok, failed, len(jobIDs), states, burned)
	require.Greater(t, states[types.JOB_STATE_COMPLETED], 0, "the simulation reached settlement")
	require.True(t, burned.IsPositive(), "the simulation slashed someone")
}

// burnedIn sums the burned amounts of the slashing events.
func burnedIn(t *testing.T, events sdk.Events) sdkmath.Int {
	total := sdkmath.ZeroInt()
	for _, e := range events {
		if e.Type != "cohort.provider.v1.EventSlashed" {
			continue
		}
		for _, a := range e.Attributes {
			if a.Key == "burned" {
				var c sdk.Coin
				require.NoError(t, json.Unmarshal([]byte(a.Value), &c))
				total = total.Add(c.Amount)
			}
		}
	}
	return total
}
