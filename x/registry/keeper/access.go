package keeper

import (
	"context"
	"fmt"
	"slices"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/cohortchain/cohort/x/registry/types"
)

// SetAccess makes a model public, or restricted to its owner and allow list.
func (k Keeper) SetAccess(ctx context.Context, owner string, id uint64, public bool) error {
	m, err := k.ownedModel(ctx, owner, id)
	if err != nil {
		return err
	}
	m.Public = public
	if err := k.Models.Set(ctx, id, m); err != nil {
		return err
	}
	return events(ctx).EmitTypedEvent(&types.EventModelUpdated{ModelId: id, Change: "access", Detail: fmt.Sprintf("public=%t", public)})
}

// GrantAccess adds grantee to the model's allow list.
func (k Keeper) GrantAccess(ctx context.Context, owner string, id uint64, grantee string) error {
	m, err := k.ownedModel(ctx, owner, id)
	if err != nil {
		return err
	}
	if _, err := k.addr("grantee", grantee); err != nil {
		return err
	}
	if slices.Contains(m.Allowed, grantee) {
		return nil
	}
	if len(m.Allowed) >= types.MaxAllowed {
		return fmt.Errorf("%w: at most %d grantees", types.ErrInvalidModel, types.MaxAllowed)
	}
	m.Allowed = append(m.Allowed, grantee)
	if err := k.Models.Set(ctx, id, m); err != nil {
		return err
	}
	return events(ctx).EmitTypedEvent(&types.EventModelUpdated{ModelId: id, Change: "grant", Detail: grantee})
}

// RevokeAccess removes grantee from the model's allow list.
func (k Keeper) RevokeAccess(ctx context.Context, owner string, id uint64, grantee string) error {
	m, err := k.ownedModel(ctx, owner, id)
	if err != nil {
		return err
	}
	i := slices.Index(m.Allowed, grantee)
	if i < 0 {
		return fmt.Errorf("%w: %s has no grant on model %d", types.ErrUnauthorized, grantee, id)
	}
	m.Allowed = slices.Delete(m.Allowed, i, i+1)
	if err := k.Models.Set(ctx, id, m); err != nil {
		return err
	}
	return events(ctx).EmitTypedEvent(&types.EventModelUpdated{ModelId: id, Change: "revoke", Detail: grantee})
}

// CanUse says whether account may use version number of model id (see
// usable).
func (k Keeper) CanUse(ctx context.Context, id, number uint64, account sdk.AccAddress) (bool, string, error) {
	m, v, acct, err := k.useRecords(ctx, id, number, account)
	if err != nil {
		return false, "", err
	}
	ok, reason := usable(m, v, acct)
	return ok, reason, nil
}

// useRecords reads what a use of version number of model id by account is
// decided on: the model, the version and the account as a string.
func (k Keeper) useRecords(ctx context.Context, id, number uint64, account sdk.AccAddress) (types.Model, types.Version, string, error) {
	m, err := k.GetModel(ctx, id)
	if err != nil {
		return m, types.Version{}, "", err
	}
	v, err := k.GetVersion(ctx, id, number)
	if err != nil {
		return m, v, "", err
	}
	acct, err := k.addressCodec.BytesToString(account)
	return m, v, acct, err
}

// usable is the rule of use: the model is not frozen, the version is not
// yanked, and the model is public or acct is its owner or on its allow
// list. When it is not, the reason says why.
func usable(m types.Model, v types.Version, acct string) (bool, string) {
	switch {
	case m.Frozen:
		return false, "model is frozen: " + m.FrozenReason
	case v.Status == types.VERSION_STATUS_YANKED:
		return false, "version is yanked"
	case m.Public || m.Owner == acct || slices.Contains(m.Allowed, acct):
		return true, ""
	default:
		return false, "the model is restricted and the account is not on its allow list"
	}
}

// InferenceTerms is what the market asks before an inference job on
// version number of model id: whether account may use it (usable: an
// unknown model or version may not be used either), and the licence price
// per inference with the owner it is paid to.
func (k Keeper) InferenceTerms(ctx context.Context, id, number uint64, account sdk.AccAddress) (bool, string, sdk.Coin, string, error) {
	m, v, acct, err := k.useRecords(ctx, id, number, account)
	if err != nil {
		return false, err.Error(), sdk.Coin{}, "", nil
	}
	if ok, reason := usable(m, v, acct); !ok {
		return false, reason, sdk.Coin{}, "", nil
	}
	return true, "", m.License.PricePerInference, m.Owner, nil
}
