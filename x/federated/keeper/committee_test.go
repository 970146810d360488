package keeper_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	sdkmath "cosmossdk.io/math"

	"github.com/cosmos/cosmos-sdk/crypto/keys/ed25519"
	"github.com/cosmos/cosmos-sdk/runtime"
	sdk "github.com/cosmos/cosmos-sdk/types"
	stakingtypes "github.com/cosmos/cosmos-sdk/x/staking/types"

	"github.com/cohortchain/cohort/x/federated/keeper"
	"github.com/cohortchain/cohort/x/federated/types"
)

// stakingSet is a bonded validator set of the given consensus powers.
type stakingSet []stakingtypes.Validator

func newStakingSet(t *testing.T, powers ...int64) stakingSet {
	var set stakingSet
	for i, p := range powers {
		pk := ed25519.GenPrivKeyFromSecret([]byte(fmt.Sprintf("validator %d", i))).PubKey()
		v, err := stakingtypes.NewValidator(sdk.ValAddress(pk.Address()).String(), pk, stakingtypes.Description{Moniker: fmt.Sprint(i)})
		require.NoError(t, err)
		v.Status = stakingtypes.Bonded
		v.Tokens = sdk.TokensFromConsensusPower(p, sdk.DefaultPowerReduction)
		set = append(set, v)
	}
	return set
}

func (s stakingSet) GetBondedValidatorsByPower(context.Context) ([]stakingtypes.Validator, error) {
	return s, nil
}

func (s stakingSet) PowerReduction(context.Context) sdkmath.Int { return sdk.DefaultPowerReduction }

// withStaking is f's chain with a federated keeper that draws committees
// from set (the keeper shares the app's store).
func (f *fixture) withStaking(t *testing.T, set stakingSet, size uint32) {
	a := f.c.App
	f.k = keeper.NewKeeper(a.AppCodec(), runtime.NewKVStoreService(a.GetKey(types.StoreKey)), a.AccountKeeper, a.BankKeeper,
		a.ProviderKeeper, a.ReputationKeeper, a.RegistryKeeper, set, a.FederatedKeeper.Authority())
	f.msg, f.q = keeper.NewMsgServer(f.k), keeper.NewQueryServer(f.k)
	params, err := f.k.Params.Get(f.ctx)
	require.NoError(t, err)
	params.CommitteeSize = size
	require.NoError(t, f.k.Params.Set(f.ctx, params))
}

func TestRoundCommitteeIsDrawnByStake(t *testing.T) {
	f := setup(t)
	set := newStakingSet(t, 10, 20, 30, 40, 50, 60, 70)
	f.withStaking(t, set, 4)
	id := f.start(t, spec())
	f.submitAll(t, id, 1)
	round := f.round(t, id, 1)
	require.Equal(t, types.ROUND_STATE_AGGREGATING, round.State)
	require.Len(t, round.Committee, 4)
	byOperator := map[string]int64{}
	for _, v := range set {
		byOperator[v.OperatorAddress] = v.ConsensusPower(sdk.DefaultPowerReduction)
	}
	seen := map[string]bool{}
	for _, m := range round.Committee {
		power, ok := byOperator[m.Operator]
		require.True(t, ok, "a bonded validator")
		require.Equal(t, power, m.Power, "with the power it was drawn with")
		require.False(t, seen[m.Operator])
		seen[m.Operator] = true
	}
	members, err := f.k.Committee(f.ctx, types.Subject(id, 1))
	require.NoError(t, err)
	require.Len(t, members, 4)
	require.Equal(t, round.Committee[0].ConsAddress, []byte(members[0].Address))
	_, err = f.k.Committee(f.ctx, types.Subject(id, 9))
	require.ErrorIs(t, err, types.ErrRoundNotFound)

	// A set no larger than the committee size decides as a whole.
	f2 := setup(t)
	f2.withStaking(t, newStakingSet(t, 1, 2, 3), 4)
	id2 := f2.start(t, spec())
	f2.submitAll(t, id2, 1)
	require.Empty(t, f2.round(t, id2, 1).Committee)
	members, err = f2.k.Committee(f2.ctx, types.Subject(id2, 1))
	require.NoError(t, err)
	require.Empty(t, members, "the whole set decides")
}
