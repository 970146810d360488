package keeper

import (
	"context"

	"github.com/cohortchain/cohort/x/reputation/types"
)

type msgServer struct{ k Keeper }

// NewMsgServer returns the reputation module's Msg service.
func NewMsgServer(k Keeper) types.MsgServer { return msgServer{k: k} }

func (s msgServer) UpdateParams(ctx context.Context, msg *types.MsgUpdateParams) (*types.MsgUpdateParamsResponse, error) {
	if msg.Authority != s.k.authority {
		return nil, types.ErrUnauthorized.Wrapf("expected %s, got %s", s.k.authority, msg.Authority)
	}
	if err := msg.Params.Validate(); err != nil {
		return nil, err
	}
	return &types.MsgUpdateParamsResponse{}, s.k.Params.Set(ctx, msg.Params)
}
