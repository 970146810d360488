// Package keeper holds verification tasks: committed work, the sample and
// committee drawn for it from a later block's hash, the verdict validators
// agree on through vote extensions, and its consequences for the provider,
// the client and the committee.
package keeper

import (
	"context"
	"fmt"

	"cosmossdk.io/collections"
	"cosmossdk.io/core/address"
	"cosmossdk.io/core/store"

	"github.com/cosmos/cosmos-sdk/codec"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/cohortchain/cohort/x/verify/types"
)

// Keeper of the verify module.
//
// Invariant (FeeInvariant): the module account holds exactly the fees of
// the tasks that are PENDING or OPEN. Fees enter it only from the modules
// and challengers that open tasks, and leave it only to committee members'
// operators, the fee collector (forfeited shares and rounding dust) and
// fee payers (expired or unsampled tasks); the module never mints or burns.
type Keeper struct {
	cdc          codec.BinaryCodec
	addressCodec address.Codec
	bank         types.BankKeeper
	staking      types.StakingKeeper
	slashing     types.SlashingKeeper
	providers    types.ProviderKeeper
	reputation   types.ReputationKeeper
	market       types.MarketKeeper
	authority    string
	moduleAddr   sdk.AccAddress

	Schema     collections.Schema
	Params     collections.Item[types.Params]
	Tasks      collections.Map[uint64, types.Task]
	NextTaskID collections.Sequence
	// Indexes of tasks.
	TasksByJob      collections.KeySet[collections.Pair[uint64, uint64]]
	TasksByProvider collections.KeySet[collections.Pair[sdk.AccAddress, uint64]]
	TasksByState    collections.KeySet[collections.Pair[int32, uint64]]
	// PendingQueue holds PENDING tasks by the height they were committed
	// at; DeadlineQueue holds OPEN tasks by their deadline.
	PendingQueue  collections.KeySet[collections.Pair[int64, uint64]]
	DeadlineQueue collections.KeySet[collections.Pair[int64, uint64]]
	// OpenByMember holds OPEN tasks by committee member (consensus address).
	OpenByMember collections.KeySet[collections.Pair[[]byte, uint64]]
	// Validators are the committee duty records, by consensus address.
	Validators collections.Map[[]byte, types.ValidatorRecord]
	// Providers are the providers' verification histories.
	Providers collections.Map[sdk.AccAddress, types.ProviderRecord]
	Stats     collections.Item[types.Stats]
}

// NewKeeper returns the verify keeper; authority may change the params.
// market may be nil (no market job is then settled by verdicts).
func NewKeeper(cdc codec.BinaryCodec, storeService store.KVStoreService, ak types.AccountKeeper, bank types.BankKeeper,
	staking types.StakingKeeper, slashing types.SlashingKeeper, providers types.ProviderKeeper,
	reputation types.ReputationKeeper, market types.MarketKeeper, authority string,
) Keeper {
	moduleAddr := ak.GetModuleAddress(types.ModuleName)
	if moduleAddr == nil {
		panic(fmt.Sprintf("the %s module account has not been set", types.ModuleName))
	}
	sb := collections.NewSchemaBuilder(storeService)
	pairHeightID := collections.PairKeyCodec(collections.Int64Key, collections.Uint64Key)
	k := Keeper{
		cdc: cdc, addressCodec: ak.AddressCodec(), bank: bank, staking: staking, slashing: slashing,
		providers: providers, reputation: reputation, market: market, authority: authority, moduleAddr: moduleAddr,
		Params:          collections.NewItem(sb, types.ParamsKey, "params", codec.CollValue[types.Params](cdc)),
		Tasks:           collections.NewMap(sb, types.TasksKey, "tasks", collections.Uint64Key, codec.CollValue[types.Task](cdc)),
		NextTaskID:      collections.NewSequence(sb, types.NextTaskIDKey, "next_task_id"),
		TasksByJob:      collections.NewKeySet(sb, types.TasksByJobKey, "tasks_by_job", collections.PairKeyCodec(collections.Uint64Key, collections.Uint64Key)),
		TasksByProvider: collections.NewKeySet(sb, types.TasksByProviderKey, "tasks_by_provider", collections.PairKeyCodec(sdk.AccAddressKey, collections.Uint64Key)),
		TasksByState:    collections.NewKeySet(sb, types.TasksByStateKey, "tasks_by_state", collections.PairKeyCodec(collections.Int32Key, collections.Uint64Key)),
		PendingQueue:    collections.NewKeySet(sb, types.PendingQueueKey, "pending_queue", pairHeightID),
		DeadlineQueue:   collections.NewKeySet(sb, types.DeadlineQueueKey, "deadline_queue", pairHeightID),
		OpenByMember:    collections.NewKeySet(sb, types.OpenByMemberKey, "open_by_member", collections.PairKeyCodec(collections.BytesKey, collections.Uint64Key)),
		Validators:      collections.NewMap(sb, types.ValidatorsKey, "validators", collections.BytesKey, codec.CollValue[types.ValidatorRecord](cdc)),
		Providers:       collections.NewMap(sb, types.ProvidersKey, "providers", sdk.AccAddressKey, codec.CollValue[types.ProviderRecord](cdc)),
		Stats:           collections.NewItem(sb, types.StatsKey, "stats", codec.CollValue[types.Stats](cdc)),
	}
	schema, err := sb.Build()
	if err != nil {
		panic(err)
	}
	k.Schema = schema
	return k
}

// Authority is the governance address.
func (k Keeper) Authority() string { return k.authority }

// AddressCodec encodes account addresses.
func (k Keeper) AddressCodec() address.Codec { return k.addressCodec }

// ModuleAddress is the module account, which holds undecided tasks' fees.
func (k Keeper) ModuleAddress() sdk.AccAddress { return k.moduleAddr }

// GetTask returns task id.
func (k Keeper) GetTask(ctx context.Context, id uint64) (types.Task, error) {
	t, err := k.Tasks.Get(ctx, id)
	if err != nil {
		return t, fmt.Errorf("%w: %d", types.ErrTaskNotFound, id)
	}
	return t, nil
}

// VerifierFee is what a module reporting work puts up for its task
// (params.verifier_fee); it may put up less, down to nothing.
func (k Keeper) VerifierFee(ctx context.Context) (sdk.Coin, error) {
	p, err := k.Params.Get(ctx)
	return p.VerifierFee, err
}

// setState moves task to state, keeps the state index and, for OPEN
// tasks, the committee index; it stores the task. Every state change goes
// through here.
func (k Keeper) setState(ctx context.Context, t *types.Task, to types.TaskState) error {
	from := t.State
	if from != types.TASK_STATE_UNSPECIFIED {
		if err := k.TasksByState.Remove(ctx, collections.Join(int32(from), t.Id)); err != nil {
			return err
		}
	}
	if from == types.TASK_STATE_OPEN && to != types.TASK_STATE_OPEN {
		for _, m := range t.Committee {
			cons, err := sdk.ConsAddressFromBech32(m.ConsAddress)
			if err != nil {
				return err
			}
			if err := k.OpenByMember.Remove(ctx, collections.Join([]byte(cons), t.Id)); err != nil {
				return err
			}
		}
	}
	if to == types.TASK_STATE_OPEN && from != types.TASK_STATE_OPEN {
		for _, m := range t.Committee {
			cons, err := sdk.ConsAddressFromBech32(m.ConsAddress)
			if err != nil {
				return err
			}
			if err := k.OpenByMember.Set(ctx, collections.Join([]byte(cons), t.Id)); err != nil {
				return err
			}
		}
	}
	t.State = to
	if err := k.TasksByState.Set(ctx, collections.Join(int32(to), t.Id)); err != nil {
		return err
	}
	return k.Tasks.Set(ctx, t.Id, *t)
}

// getStats returns the statistics (zero before the first task).
func (k Keeper) getStats(ctx context.Context) (types.Stats, error) {
	s, err := k.Stats.Get(ctx)
	if err != nil && !isNotFound(err) {
		return s, err
	}
	return s, nil
}

func (k Keeper) updateStats(ctx context.Context, f func(*types.Stats)) error {
	s, err := k.getStats(ctx)
	if err != nil {
		return err
	}
	f(&s)
	return k.Stats.Set(ctx, s)
}

func (k Keeper) addr(field, s string) (sdk.AccAddress, error) {
	bz, err := k.addressCodec.StringToBytes(s)
	if err != nil || len(bz) == 0 {
		return nil, fmt.Errorf("%w: %s %q is not an address", types.ErrInvalidWork, field, s)
	}
	return bz, nil
}

func height(ctx context.Context) int64 { return sdk.UnwrapSDKContext(ctx).BlockHeight() }
