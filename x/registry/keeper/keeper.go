// Package keeper records models, their versions, lineage, licences and
// access, and the rules that change them.
package keeper

import (
	"context"
	"fmt"

	"cosmossdk.io/collections"
	"cosmossdk.io/core/address"
	"cosmossdk.io/core/store"

	"github.com/cosmos/cosmos-sdk/codec"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/cohortchain/cohort/x/registry/types"
)

// VersionKey names a version: (model id, version number).
type VersionKey = collections.Pair[uint64, uint64]

// Keeper of the registry module.
//
// Lineage is acyclic by construction: a version can only name a parent
// that already exists, and its own key does not exist until it is stored.
type Keeper struct {
	addressCodec address.Codec
	market       types.MarketKeeper
	authority    string

	Schema      collections.Schema
	Models      collections.Map[uint64, types.Model]
	NextModelID collections.Sequence
	Versions    collections.Map[VersionKey, types.Version]
	// Indexes.
	ByOwnerName collections.Map[collections.Pair[sdk.AccAddress, string], uint64]
	ByTask      collections.KeySet[collections.Pair[string, uint64]]
	ByLicense   collections.KeySet[collections.Pair[string, uint64]]
	// Children maps (parent, child) version pairs: the descendants of a version.
	Children collections.KeySet[collections.Pair[VersionKey, VersionKey]]
	// ByJob maps a market job to the version it produced.
	ByJob    collections.Map[uint64, types.VersionRef]
	BySemver collections.Map[collections.Pair[uint64, string], uint64]
	// ByRun maps an x/federated run to the version it published.
	ByRun collections.Map[uint64, types.VersionRef]
}

// NewKeeper returns the registry keeper; authority (governance) may freeze models.
func NewKeeper(cdc codec.BinaryCodec, storeService store.KVStoreService, ac address.Codec, market types.MarketKeeper, authority string) Keeper {
	sb := collections.NewSchemaBuilder(storeService)
	vk := collections.PairKeyCodec(collections.Uint64Key, collections.Uint64Key)
	k := Keeper{
		addressCodec: ac, market: market, authority: authority,
		Models:      collections.NewMap(sb, types.ModelsKey, "models", collections.Uint64Key, codec.CollValue[types.Model](cdc)),
		NextModelID: collections.NewSequence(sb, types.NextModelIDKey, "next_model_id"),
		Versions:    collections.NewMap(sb, types.VersionsKey, "versions", vk, codec.CollValue[types.Version](cdc)),
		ByOwnerName: collections.NewMap(sb, types.ByOwnerNameKey, "by_owner_name", collections.PairKeyCodec(sdk.AccAddressKey, collections.StringKey), collections.Uint64Value),
		ByTask:      collections.NewKeySet(sb, types.ByTaskKey, "by_task", collections.PairKeyCodec(collections.StringKey, collections.Uint64Key)),
		ByLicense:   collections.NewKeySet(sb, types.ByLicenseKey, "by_license", collections.PairKeyCodec(collections.StringKey, collections.Uint64Key)),
		Children:    collections.NewKeySet(sb, types.ChildrenKey, "children", collections.PairKeyCodec(vk, vk)),
		ByJob:       collections.NewMap(sb, types.ByJobKey, "by_job", collections.Uint64Key, codec.CollValue[types.VersionRef](cdc)),
		BySemver:    collections.NewMap(sb, types.BySemverKey, "by_semver", collections.PairKeyCodec(collections.Uint64Key, collections.StringKey), collections.Uint64Value),
		ByRun:       collections.NewMap(sb, types.ByRunKey, "by_run", collections.Uint64Key, codec.CollValue[types.VersionRef](cdc)),
	}
	schema, err := sb.Build()
	if err != nil {
		panic(err)
	}
	k.Schema = schema
	return k
}

// AddressCodec encodes account addresses.
func (k Keeper) AddressCodec() address.Codec { return k.addressCodec }

// Authority is the governance address.
func (k Keeper) Authority() string { return k.authority }

// GetModel returns model id.
func (k Keeper) GetModel(ctx context.Context, id uint64) (types.Model, error) {
	m, err := k.Models.Get(ctx, id)
	if err != nil {
		return m, fmt.Errorf("%w: %d", types.ErrModelNotFound, id)
	}
	return m, nil
}

// GetVersion returns a version.
func (k Keeper) GetVersion(ctx context.Context, model, number uint64) (types.Version, error) {
	v, err := k.Versions.Get(ctx, collections.Join(model, number))
	if err != nil {
		return v, fmt.Errorf("%w: %d/%d", types.ErrVersionNotFound, model, number)
	}
	return v, nil
}

// ownedModel returns the model if owner owns it.
func (k Keeper) ownedModel(ctx context.Context, owner string, id uint64) (types.Model, error) {
	m, err := k.GetModel(ctx, id)
	if err != nil {
		return m, err
	}
	if m.Owner != owner {
		return m, fmt.Errorf("%w: model %d belongs to %s", types.ErrUnauthorized, id, m.Owner)
	}
	return m, nil
}

func (k Keeper) addr(field, s string) (sdk.AccAddress, error) {
	bz, err := k.addressCodec.StringToBytes(s)
	if err != nil {
		return nil, fmt.Errorf("%w: %s %q: %v", types.ErrInvalidModel, field, s, err)
	}
	return bz, nil
}
