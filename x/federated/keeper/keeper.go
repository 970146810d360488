// Package keeper holds federated training runs, their participants, rounds
// and update commitments, and the escrow that pays for accepted updates.
package keeper

import (
	"context"
	"fmt"

	"cosmossdk.io/collections"
	"cosmossdk.io/core/address"
	"cosmossdk.io/core/store"

	"github.com/cosmos/cosmos-sdk/codec"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/cohortchain/cohort/x/federated/types"
)

// Keeper of the federated module.
//
// Invariant (EscrowInvariant): the module account holds exactly the sum of
// the escrow of every run, and finished runs hold none. Tokens enter it only
// from clients (budgets) and leave it only to participants (rewards), the
// fee collector (protocol fee) and clients (refunds).
type Keeper struct {
	cdc          codec.BinaryCodec
	addressCodec address.Codec
	bank         types.BankKeeper
	providers    types.ProviderKeeper
	reputation   types.ReputationKeeper
	registry     types.RegistryKeeper
	staking      types.StakingKeeper
	authority    string
	moduleAddr   sdk.AccAddress
	// verifier is shared by every copy of the keeper, so that x/verify,
	// built after this module, can be set once (SetVerifier).
	verifier *verifierRef

	Schema    collections.Schema
	Params    collections.Item[types.Params]
	Runs      collections.Map[uint64, types.Run]
	NextRunID collections.Sequence
	// Participants by (run id, provider).
	Participants collections.Map[collections.Pair[uint64, sdk.AccAddress], types.Participant]
	// Rounds by (run id, round number).
	Rounds collections.Map[collections.Pair[uint64, uint32], types.Round]
	// Updates by (run id, round number, participant).
	Updates collections.Map[collections.Triple[uint64, uint32, sdk.AccAddress], types.Update]
	// SecAgg holds secure-aggregation message commitments by (run id,
	// round number, stage, participant).
	SecAgg collections.Map[collections.Quad[uint64, uint32, int32, sdk.AccAddress], types.SecAggMessage]
	// DeadlineQueue holds the current round of each training run by the
	// height its collection or aggregation ends.
	DeadlineQueue collections.KeySet[collections.Pair[int64, uint64]]
	// JoinQueue holds open runs by the height their join window ends.
	JoinQueue collections.KeySet[collections.Pair[int64, uint64]]
}

// NewKeeper returns the federated keeper; authority may change the params.
// reputation, registry and staking may be nil: selection is then
// unweighted, registry model references are not checked, and every round
// is decided by the whole validator set rather than a sampled committee.
func NewKeeper(cdc codec.BinaryCodec, storeService store.KVStoreService, ak types.AccountKeeper, bank types.BankKeeper,
	providers types.ProviderKeeper, reputation types.ReputationKeeper, registry types.RegistryKeeper, staking types.StakingKeeper, authority string,
) Keeper {
	moduleAddr := ak.GetModuleAddress(types.ModuleName)
	if moduleAddr == nil {
		panic(fmt.Sprintf("the %s module account has not been set", types.ModuleName))
	}
	sb := collections.NewSchemaBuilder(storeService)
	pairHeightID := collections.PairKeyCodec(collections.Int64Key, collections.Uint64Key)
	k := Keeper{
		cdc: cdc, addressCodec: ak.AddressCodec(), bank: bank, providers: providers, reputation: reputation, registry: registry, staking: staking,
		authority: authority, moduleAddr: moduleAddr, verifier: &verifierRef{},
		Params:       collections.NewItem(sb, types.ParamsKey, "params", codec.CollValue[types.Params](cdc)),
		Runs:         collections.NewMap(sb, types.RunsKey, "runs", collections.Uint64Key, codec.CollValue[types.Run](cdc)),
		NextRunID:    collections.NewSequence(sb, types.NextRunIDKey, "next_run_id"),
		Participants: collections.NewMap(sb, types.ParticipantsKey, "participants", collections.PairKeyCodec(collections.Uint64Key, sdk.AccAddressKey), codec.CollValue[types.Participant](cdc)),
		Rounds:       collections.NewMap(sb, types.RoundsKey, "rounds", collections.PairKeyCodec(collections.Uint64Key, collections.Uint32Key), codec.CollValue[types.Round](cdc)),
		Updates:      collections.NewMap(sb, types.UpdatesKey, "updates", collections.TripleKeyCodec(collections.Uint64Key, collections.Uint32Key, sdk.AccAddressKey), codec.CollValue[types.Update](cdc)),
		SecAgg: collections.NewMap(sb, types.SecAggKey, "secagg_messages",
			collections.QuadKeyCodec(collections.Uint64Key, collections.Uint32Key, collections.Int32Key, sdk.AccAddressKey), codec.CollValue[types.SecAggMessage](cdc)),
		DeadlineQueue: collections.NewKeySet(sb, types.DeadlineQueueKey, "deadline_queue", pairHeightID),
		JoinQueue:     collections.NewKeySet(sb, types.JoinQueueKey, "join_queue", pairHeightID),
	}
	schema, err := sb.Build()
	if err != nil {
		panic(err)
	}
	k.Schema = schema
	return k
}

// verifierRef holds x/verify for every copy of the keeper.
type verifierRef struct{ k types.VerifyKeeper }

// SetVerifier wires x/verify into the federated module (and every copy of
// the keeper already handed out): the updates of runs that verify updates
// are reported to it. Without one (nil), nothing is reported.
func (k Keeper) SetVerifier(v types.VerifyKeeper) { k.verifier.k = v }

// Authority is the governance address.
func (k Keeper) Authority() string { return k.authority }

// AddressCodec encodes account addresses.
func (k Keeper) AddressCodec() address.Codec { return k.addressCodec }

// ModuleAddress is the module account, which holds all run escrow.
func (k Keeper) ModuleAddress() sdk.AccAddress { return k.moduleAddr }

// GetRun returns run id.
func (k Keeper) GetRun(ctx context.Context, id uint64) (types.Run, error) {
	r, err := k.Runs.Get(ctx, id)
	if err != nil {
		return r, fmt.Errorf("%w: %d", types.ErrRunNotFound, id)
	}
	return r, nil
}

// GetRound returns round number of run id.
func (k Keeper) GetRound(ctx context.Context, id uint64, number uint32) (types.Round, error) {
	r, err := k.Rounds.Get(ctx, collections.Join(id, number))
	if err != nil {
		return r, fmt.Errorf("%w: run %d round %d", types.ErrRoundNotFound, id, number)
	}
	return r, nil
}

// setRunState moves run to state, stores it and emits the event.
func (k Keeper) setRunState(ctx context.Context, run *types.Run, to types.RunState, reason string) error {
	from := run.State
	run.State = to
	if to.Terminal() {
		run.EndReason = reason
	}
	if err := k.Runs.Set(ctx, run.Id, *run); err != nil {
		return err
	}
	return sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventRunStateChanged{RunId: run.Id, From: from, To: to, Reason: reason})
}

func (k Keeper) addr(field, s string) (sdk.AccAddress, error) {
	bz, err := k.addressCodec.StringToBytes(s)
	if err != nil || len(bz) == 0 {
		return nil, fmt.Errorf("%w: %s %q is not an address", types.ErrUnauthorized, field, s)
	}
	return bz, nil
}

func (k Keeper) str(a sdk.AccAddress) string {
	s, err := k.addressCodec.BytesToString(a)
	if err != nil {
		panic(err)
	}
	return s
}

func height(ctx context.Context) int64 { return sdk.UnwrapSDKContext(ctx).BlockHeight() }
