// Package keeper holds the market's jobs, bids and leases and the rules
// that move money between clients, providers, escrow and the fee collector.
package keeper

import (
	"context"
	"fmt"

	"cosmossdk.io/collections"
	"cosmossdk.io/core/address"
	"cosmossdk.io/core/store"

	"github.com/cosmos/cosmos-sdk/codec"
	sdk "github.com/cosmos/cosmos-sdk/types"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"

	"github.com/cohortchain/cohort/x/market/types"
)

// Keeper of the market module.
//
// Invariant (EscrowInvariant): the module account holds exactly the escrow
// of every unfinished job, the deposits of open and accepted bids, and the
// bonds of open disputes. Tokens enter it only from clients (budgets),
// providers (deposits) and disputers (bonds), and leave it only to those
// parties and to the fee collector; the market never mints or burns.
type Keeper struct {
	cdc          codec.BinaryCodec
	addressCodec address.Codec
	bank         types.BankKeeper
	providers    types.ProviderKeeper
	reputation   types.ReputationKeeper
	// verifier is shared by every copy of the keeper, so that x/verify,
	// built after the market, can be set once (SetVerifier).
	verifier *verifierRef
	accounts types.AccountKeeper
	// registry is shared by every copy like verifier (SetRegistry): x/registry is built after the market.
	registry   *registryRef
	authority  string
	moduleAddr sdk.AccAddress

	Schema    collections.Schema
	Params    collections.Item[types.Params]
	Jobs      collections.Map[uint64, types.Job]
	NextJobID collections.Sequence
	// Bids by (job id, provider).
	Bids collections.Map[collections.Pair[uint64, sdk.AccAddress], types.Bid]
	// Indexes of jobs.
	JobsByClient   collections.KeySet[collections.Pair[sdk.AccAddress, uint64]]
	JobsByProvider collections.KeySet[collections.Pair[sdk.AccAddress, uint64]]
	JobsByState    collections.KeySet[collections.Pair[int32, uint64]]
	// Queues the EndBlocker works through, by height then job id.
	BiddingQueue    collections.KeySet[collections.Pair[int64, uint64]]
	SettlementQueue collections.KeySet[collections.Pair[int64, uint64]]
	DeadlineQueue   collections.KeySet[collections.Pair[int64, uint64]]
	// UsageQueue holds metered leases with claims to pay.
	UsageQueue collections.KeySet[collections.Pair[int64, uint64]]
	// ReportedReceipts holds the sha256 of the sign bytes of every
	// inference receipt reported wrong, so none is reported twice.
	ReportedReceipts collections.KeySet[[]byte]
}

// NewKeeper returns the market keeper; authority may change the params and
// resolve disputes.
func NewKeeper(cdc codec.BinaryCodec, storeService store.KVStoreService, ak types.AccountKeeper, bank types.BankKeeper,
	providers types.ProviderKeeper, reputation types.ReputationKeeper, authority string,
) Keeper {
	moduleAddr := ak.GetModuleAddress(types.ModuleName)
	if moduleAddr == nil {
		panic(fmt.Sprintf("the %s module account has not been set", types.ModuleName))
	}
	sb := collections.NewSchemaBuilder(storeService)
	pairHeightID := collections.PairKeyCodec(collections.Int64Key, collections.Uint64Key)
	k := Keeper{
		cdc: cdc, addressCodec: ak.AddressCodec(), bank: bank, providers: providers, reputation: reputation,
		verifier: &verifierRef{}, accounts: ak, registry: &registryRef{}, authority: authority, moduleAddr: moduleAddr,
		Params:           collections.NewItem(sb, types.ParamsKey, "params", codec.CollValue[types.Params](cdc)),
		Jobs:             collections.NewMap(sb, types.JobsKey, "jobs", collections.Uint64Key, codec.CollValue[types.Job](cdc)),
		NextJobID:        collections.NewSequence(sb, types.NextJobIDKey, "next_job_id"),
		Bids:             collections.NewMap(sb, types.BidsKey, "bids", collections.PairKeyCodec(collections.Uint64Key, sdk.AccAddressKey), codec.CollValue[types.Bid](cdc)),
		JobsByClient:     collections.NewKeySet(sb, types.JobsByClientKey, "jobs_by_client", collections.PairKeyCodec(sdk.AccAddressKey, collections.Uint64Key)),
		JobsByProvider:   collections.NewKeySet(sb, types.JobsByProviderKey, "jobs_by_provider", collections.PairKeyCodec(sdk.AccAddressKey, collections.Uint64Key)),
		JobsByState:      collections.NewKeySet(sb, types.JobsByStateKey, "jobs_by_state", collections.PairKeyCodec(collections.Int32Key, collections.Uint64Key)),
		BiddingQueue:     collections.NewKeySet(sb, types.BiddingQueueKey, "bidding_queue", pairHeightID),
		SettlementQueue:  collections.NewKeySet(sb, types.SettlementQueueKey, "settlement_queue", pairHeightID),
		DeadlineQueue:    collections.NewKeySet(sb, types.DeadlineQueueKey, "deadline_queue", pairHeightID),
		UsageQueue:       collections.NewKeySet(sb, types.UsageQueueKey, "usage_queue", pairHeightID),
		ReportedReceipts: collections.NewKeySet(sb, types.ReportedReceiptsKey, "reported_receipts", collections.BytesKey),
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

// SetVerifier wires x/verify into the market (and every copy of the
// keeper already handed out): training results and disputes are reported
// to it. Without one, nothing is verified and disputes stay open.
func (k Keeper) SetVerifier(v types.VerifyKeeper) { k.verifier.k = v }

// registryRef holds x/registry for every copy of the keeper.
type registryRef struct{ k types.RegistryKeeper }

// SetRegistry wires x/registry into the market (and every copy of the
// keeper already handed out): inference jobs must name a registry model
// version the client may use, and pay its licence fee to the owner.
// Without one, inference jobs take any model spec and pay no licence.
func (k Keeper) SetRegistry(r types.RegistryKeeper) { k.registry.k = r }

// Authority is the governance address.
func (k Keeper) Authority() string { return k.authority }

// AddressCodec encodes account addresses.
func (k Keeper) AddressCodec() address.Codec { return k.addressCodec }

// ModuleAddress is the market's module account, which holds all escrow.
func (k Keeper) ModuleAddress() sdk.AccAddress { return k.moduleAddr }

// GetJob returns job id.
func (k Keeper) GetJob(ctx context.Context, id uint64) (types.Job, error) {
	j, err := k.Jobs.Get(ctx, id)
	if err != nil {
		return j, fmt.Errorf("%w: %d", types.ErrJobNotFound, id)
	}
	return j, nil
}

// setState moves job to state, keeps the state index, stores the job and
// emits the event. Every state change goes through here.
func (k Keeper) setState(ctx context.Context, job *types.Job, to types.JobState, reason string) error {
	from := job.State
	if from != types.JOB_STATE_UNSPECIFIED {
		if err := k.JobsByState.Remove(ctx, collections.Join(int32(from), job.Id)); err != nil {
			return err
		}
	}
	job.State = to
	if err := k.JobsByState.Set(ctx, collections.Join(int32(to), job.Id)); err != nil {
		return err
	}
	if err := k.Jobs.Set(ctx, job.Id, *job); err != nil {
		return err
	}
	return sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventJobStateChanged{JobId: job.Id, From: from, To: to, Reason: reason})
}

// pay sends amt (if positive) from escrow to addr.
func (k Keeper) pay(ctx context.Context, addr sdk.AccAddress, amt sdk.Coin) error {
	if amt.IsNil() || !amt.IsPositive() {
		return nil
	}
	return k.bank.SendCoinsFromModuleToAccount(ctx, types.ModuleName, addr, sdk.NewCoins(amt))
}

// payFee sends amt (if positive) from escrow to the fee collector.
func (k Keeper) payFee(ctx context.Context, amt sdk.Coin) error {
	if amt.IsNil() || !amt.IsPositive() {
		return nil
	}
	return k.bank.SendCoinsFromModuleToModule(ctx, types.ModuleName, authtypes.FeeCollectorName, sdk.NewCoins(amt))
}

func (k Keeper) addr(s string) (sdk.AccAddress, error) {
	bz, err := k.addressCodec.StringToBytes(s)
	if err != nil {
		return nil, fmt.Errorf("%w: address %q: %v", types.ErrInvalidJob, s, err)
	}
	return bz, nil
}

func height(ctx context.Context) int64 { return sdk.UnwrapSDKContext(ctx).BlockHeight() }
