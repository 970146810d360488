// Package keeper holds the provider module's state and the rules that
// change it: registration, collateral, liveness, jail and slashing.
package keeper

import (
	"context"
	"fmt"

	"cosmossdk.io/collections"
	"cosmossdk.io/core/address"
	"cosmossdk.io/core/store"
	"cosmossdk.io/log/v2"

	"github.com/cosmos/cosmos-sdk/codec"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/cohortchain/cohort/x/provider/types"
)

// Keeper of the provider module.
//
// Invariant (checked by CollateralInvariant): the module account holds
// exactly the sum of every provider's bonded collateral and every pending
// unbonding; tokens leave it only by completed unbonding (to the
// operator), slashing (burned, or paid to the harmed party).
type Keeper struct {
	cdc          codec.BinaryCodec
	addressCodec address.Codec
	bank         types.BankKeeper
	authority    string
	hooks        types.ProviderHooks

	Schema     collections.Schema
	Params     collections.Item[types.Params]
	Providers  collections.Map[sdk.AccAddress, types.Provider]
	Unbondings collections.Map[uint64, types.Unbonding]
	// ByOperator indexes unbondings by provider.
	ByOperator collections.KeySet[collections.Pair[sdk.AccAddress, uint64]]
	// Queue orders unbondings by completion epoch.
	Queue         collections.KeySet[collections.Pair[int64, uint64]]
	NextUnbonding collections.Sequence
	// Epoch is the number of the last liveness epoch that ended.
	Epoch collections.Item[int64]
}

// NewKeeper returns the provider keeper. authority may change the params.
func NewKeeper(cdc codec.BinaryCodec, storeService store.KVStoreService, ak types.AccountKeeper, bank types.BankKeeper, authority string) Keeper {
	if addr := ak.GetModuleAddress(types.ModuleName); addr == nil {
		panic(fmt.Sprintf("the %s module account has not been set", types.ModuleName))
	}
	sb := collections.NewSchemaBuilder(storeService)
	k := Keeper{
		cdc:           cdc,
		addressCodec:  ak.AddressCodec(),
		bank:          bank,
		authority:     authority,
		Params:        collections.NewItem(sb, types.ParamsKey, "params", codec.CollValue[types.Params](cdc)),
		Providers:     collections.NewMap(sb, types.ProvidersKey, "providers", sdk.AccAddressKey, codec.CollValue[types.Provider](cdc)),
		Unbondings:    collections.NewMap(sb, types.UnbondingsKey, "unbondings", collections.Uint64Key, codec.CollValue[types.Unbonding](cdc)),
		ByOperator:    collections.NewKeySet(sb, types.UnbondingsByOperatorKey, "unbondings_by_operator", collections.PairKeyCodec(sdk.AccAddressKey, collections.Uint64Key)),
		Queue:         collections.NewKeySet(sb, types.UnbondingQueueKey, "unbonding_queue", collections.PairKeyCodec(collections.Int64Key, collections.Uint64Key)),
		NextUnbonding: collections.NewSequence(sb, types.NextUnbondingKey, "next_unbonding"),
		Epoch:         collections.NewItem(sb, types.EpochKey, "epoch", collections.Int64Value),
	}
	schema, err := sb.Build()
	if err != nil {
		panic(err)
	}
	k.Schema = schema
	return k
}

// SetHooks sets the hooks called on slashes and status changes.
func (k *Keeper) SetHooks(h types.ProviderHooks) { k.hooks = h }

// Authority is the address allowed to change the params.
func (k Keeper) Authority() string { return k.authority }

// AddressCodec encodes operator addresses.
func (k Keeper) AddressCodec() address.Codec { return k.addressCodec }

// Logger returns the module's logger.
func (k Keeper) Logger(ctx context.Context) log.Logger {
	return sdk.UnwrapSDKContext(ctx).Logger().With("module", "x/"+types.ModuleName)
}

// GetProvider returns the provider run by operator.
func (k Keeper) GetProvider(ctx context.Context, operator sdk.AccAddress) (types.Provider, error) {
	p, err := k.Providers.Get(ctx, operator)
	if err != nil {
		return p, fmt.Errorf("%w: %s", types.ErrProviderNotFound, k.str(operator))
	}
	return p, nil
}

// CanBid returns nil when operator may take new work: registered, active
// and with at least the minimum collateral.
func (k Keeper) CanBid(ctx context.Context, operator sdk.AccAddress) error {
	p, err := k.GetProvider(ctx, operator)
	if err != nil {
		return err
	}
	return k.canBid(ctx, p)
}

func (k Keeper) canBid(ctx context.Context, p types.Provider) error {
	switch p.Status {
	case types.STATUS_ACTIVE:
	case types.STATUS_JAILED:
		return fmt.Errorf("%w: %s", types.ErrJailed, p.Operator)
	default:
		return fmt.Errorf("%w: %s is %s; send a heartbeat", types.ErrUnauthorized, p.Operator, p.Status)
	}
	params, err := k.Params.Get(ctx)
	if err != nil {
		return err
	}
	if p.Collateral.IsLT(params.MinCollateral) {
		return fmt.Errorf("%w: %s has %s, needs %s", types.ErrInsufficientBond, p.Operator, p.Collateral, params.MinCollateral)
	}
	return nil
}

func (k Keeper) str(addr sdk.AccAddress) string {
	s, err := k.addressCodec.BytesToString(addr)
	if err != nil {
		return addr.String()
	}
	return s
}

// setStatus changes a provider's status, emits the event and calls hooks.
func (k Keeper) setStatus(ctx context.Context, p *types.Provider, to types.Status, reason string) error {
	from := p.Status
	if from == to {
		return nil
	}
	p.Status = to
	op, err := k.addressCodec.StringToBytes(p.Operator)
	if err != nil {
		return err
	}
	if err := sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventStatusChanged{Operator: p.Operator, From: from, To: to, Reason: reason}); err != nil {
		return err
	}
	if k.hooks != nil {
		return k.hooks.AfterProviderStatusChanged(ctx, op, from, to)
	}
	return nil
}
