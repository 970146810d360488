package keeper

import (
	"context"
	"fmt"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/cohortchain/cohort/x/provider/types"
)

// Heartbeat records that the provider is alive in the current liveness
// epoch; an inactive provider becomes active again. A jailed one stays
// jailed until it unjails.
func (k Keeper) Heartbeat(ctx context.Context, operator sdk.AccAddress) error {
	p, err := k.GetProvider(ctx, operator)
	if err != nil {
		return err
	}
	epoch, err := k.currentEpoch(ctx)
	if err != nil {
		return err
	}
	p.LastHeartbeatEpoch = epoch
	if p.Status == types.STATUS_INACTIVE {
		if err := k.setStatus(ctx, &p, types.STATUS_ACTIVE, "heartbeat"); err != nil {
			return err
		}
	}
	return k.Providers.Set(ctx, operator, p)
}

// Unjail returns a jailed provider to service once jailed_until_epoch has
// been reached; it counts as a heartbeat.
func (k Keeper) Unjail(ctx context.Context, operator sdk.AccAddress) error {
	p, err := k.GetProvider(ctx, operator)
	if err != nil {
		return err
	}
	if p.Status != types.STATUS_JAILED {
		return fmt.Errorf("%w: %s is %s", types.ErrNotJailed, p.Operator, p.Status)
	}
	epoch, err := k.currentEpoch(ctx)
	if err != nil {
		return err
	}
	if epoch < p.JailedUntilEpoch {
		return fmt.Errorf("%w: %s until epoch %d, now %d", types.ErrStillJailed, p.Operator, p.JailedUntilEpoch, epoch)
	}
	p.LastHeartbeatEpoch = epoch
	if err := k.setStatus(ctx, &p, types.STATUS_ACTIVE, "unjailed"); err != nil {
		return err
	}
	return k.Providers.Set(ctx, operator, p)
}

// AfterEpochEnd is the x/epochs hook. At the end of each liveness epoch it
// records the epoch number, pays out unbondings that are due, and marks
// silent providers inactive, then jailed.
func (k Keeper) AfterEpochEnd(ctx context.Context, identifier string, number int64) error {
	params, err := k.Params.Get(ctx)
	if err != nil {
		return err
	}
	if identifier != params.EpochIdentifier {
		return nil
	}
	if err := k.Epoch.Set(ctx, number); err != nil {
		return err
	}
	if err := k.completeUnbondings(ctx, number); err != nil {
		return err
	}
	return k.updateLiveness(ctx, params, number)
}

// BeforeEpochStart is the x/epochs hook; the module has nothing to do then.
func (k Keeper) BeforeEpochStart(context.Context, string, int64) error { return nil }

// updateLiveness walks the providers once per liveness epoch.
func (k Keeper) updateLiveness(ctx context.Context, params types.Params, epoch int64) error {
	type change struct {
		op sdk.AccAddress
		p  types.Provider
	}
	var changes []change
	err := k.Providers.Walk(ctx, nil, func(op sdk.AccAddress, p types.Provider) (bool, error) {
		silent := epoch - p.LastHeartbeatEpoch
		switch {
		case p.Status != types.STATUS_JAILED && silent >= params.JailAfterEpochs:
			p.JailedUntilEpoch = epoch + params.JailEpochs
			if err := k.setStatus(ctx, &p, types.STATUS_JAILED, fmt.Sprintf("no heartbeat for %d epochs", silent)); err != nil {
				return true, err
			}
			changes = append(changes, change{op, p})
		case p.Status == types.STATUS_ACTIVE && silent >= params.InactiveAfterEpochs:
			if err := k.setStatus(ctx, &p, types.STATUS_INACTIVE, fmt.Sprintf("no heartbeat for %d epochs", silent)); err != nil {
				return true, err
			}
			changes = append(changes, change{op, p})
		}
		return false, nil
	})
	if err != nil {
		return err
	}
	for _, c := range changes {
		if err := k.Providers.Set(ctx, c.op, c.p); err != nil {
			return err
		}
	}
	return nil
}
