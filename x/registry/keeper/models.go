package keeper

import (
	"context"
	"fmt"

	"cosmossdk.io/collections"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/cohortchain/cohort/x/registry/types"
)

func events(ctx context.Context) *sdk.EventManager { return sdk.UnwrapSDKContext(ctx).EventManager() }

// RegisterModel records a new model owned by the signer; its name must be
// new among the owner's models.
func (k Keeper) RegisterModel(ctx context.Context, msg *types.MsgRegisterModel) (uint64, error) {
	owner, err := k.addr("owner", msg.Owner)
	if err != nil {
		return 0, err
	}
	if err := types.ValidateModelFields(msg.Name, msg.Description, msg.Task, msg.Architecture, msg.License); err != nil {
		return 0, err
	}
	if has, err := k.ByOwnerName.Has(ctx, collections.Join(owner, msg.Name)); err != nil {
		return 0, err
	} else if has {
		return 0, fmt.Errorf("%w: %s/%s", types.ErrDuplicateName, msg.Owner, msg.Name)
	}
	id, err := k.NextModelID.Next(ctx)
	if err != nil {
		return 0, err
	}
	m := types.Model{Id: id, Owner: msg.Owner, Name: msg.Name, Description: msg.Description, Task: msg.Task,
		Architecture: msg.Architecture, License: msg.License, Public: msg.Public, CreatedHeight: sdk.UnwrapSDKContext(ctx).BlockHeight()}
	if err := k.setModel(ctx, m); err != nil {
		return 0, err
	}
	return id, events(ctx).EmitTypedEvent(&types.EventModelRegistered{ModelId: id, Owner: msg.Owner, Name: msg.Name})
}

// setModel stores m and its indexes by owner/name, task and licence.
func (k Keeper) setModel(ctx context.Context, m types.Model) error {
	owner, err := k.addr("owner", m.Owner)
	if err != nil {
		return err
	}
	if err := k.ByOwnerName.Set(ctx, collections.Join(owner, m.Name), m.Id); err != nil {
		return err
	}
	if err := k.ByTask.Set(ctx, collections.Join(m.Task, m.Id)); err != nil {
		return err
	}
	if err := k.ByLicense.Set(ctx, collections.Join(m.License.SpdxId, m.Id)); err != nil {
		return err
	}
	return k.Models.Set(ctx, m.Id, m)
}

// SetLicense replaces the model's licence (owner only).
func (k Keeper) SetLicense(ctx context.Context, owner string, id uint64, license types.License) error {
	m, err := k.ownedModel(ctx, owner, id)
	if err != nil {
		return err
	}
	if err := license.Validate(); err != nil {
		return err
	}
	if err := k.ByLicense.Remove(ctx, collections.Join(m.License.SpdxId, m.Id)); err != nil {
		return err
	}
	m.License = license
	if err := k.setModel(ctx, m); err != nil {
		return err
	}
	return events(ctx).EmitTypedEvent(&types.EventModelUpdated{ModelId: id, Change: "license", Detail: license.SpdxId})
}

// TransferOwnership hands the model to newOwner, who must not already own
// a model of the same name.
func (k Keeper) TransferOwnership(ctx context.Context, owner string, id uint64, newOwnerStr string) error {
	m, err := k.ownedModel(ctx, owner, id)
	if err != nil {
		return err
	}
	newOwner, err := k.addr("new_owner", newOwnerStr)
	if err != nil {
		return err
	}
	if has, err := k.ByOwnerName.Has(ctx, collections.Join(newOwner, m.Name)); err != nil {
		return err
	} else if has {
		return fmt.Errorf("%w: %s/%s", types.ErrDuplicateName, newOwnerStr, m.Name)
	}
	old, err := k.addr("owner", m.Owner)
	if err != nil {
		return err
	}
	if err := k.ByOwnerName.Remove(ctx, collections.Join(old, m.Name)); err != nil {
		return err
	}
	m.Owner = newOwnerStr
	if err := k.setModel(ctx, m); err != nil {
		return err
	}
	return events(ctx).EmitTypedEvent(&types.EventModelUpdated{ModelId: id, Change: "owner", Detail: newOwnerStr})
}

// Freeze freezes or thaws a model (governance): a frozen model takes no
// new versions and no version of it may be used.
func (k Keeper) Freeze(ctx context.Context, authority string, id uint64, frozen bool, reason string) error {
	if authority != k.authority {
		return fmt.Errorf("%w: only governance may freeze models", types.ErrUnauthorized)
	}
	if len(reason) > types.MaxDescriptionLen {
		return fmt.Errorf("%w: reason too long", types.ErrInvalidModel)
	}
	m, err := k.GetModel(ctx, id)
	if err != nil {
		return err
	}
	m.Frozen, m.FrozenReason = frozen, reason
	if err := k.Models.Set(ctx, id, m); err != nil {
		return err
	}
	change := "thawed"
	if frozen {
		change = "frozen"
	}
	return events(ctx).EmitTypedEvent(&types.EventModelUpdated{ModelId: id, Change: change, Detail: reason})
}
