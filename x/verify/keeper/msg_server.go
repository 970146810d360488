package keeper

import (
	"context"
	"fmt"

	"github.com/cohortchain/cohort/x/verify/types"
)

type msgServer struct{ k Keeper }

// NewMsgServer returns the verify module's Msg service.
func NewMsgServer(k Keeper) types.MsgServer { return msgServer{k: k} }

var _ types.MsgServer = msgServer{}

func (s msgServer) OpenChallenge(ctx context.Context, msg *types.MsgOpenChallenge) (*types.MsgOpenChallengeResponse, error) {
	id, err := s.k.OpenChallenge(ctx, msg.Challenger, msg.TaskId)
	if err != nil {
		return nil, err
	}
	return &types.MsgOpenChallengeResponse{TaskId: id}, nil
}

func (s msgServer) UpdateParams(ctx context.Context, msg *types.MsgUpdateParams) (*types.MsgUpdateParamsResponse, error) {
	if msg.Authority != s.k.authority {
		return nil, fmt.Errorf("%w: expected %s, got %s", types.ErrUnauthorized, s.k.authority, msg.Authority)
	}
	if err := msg.Params.Validate(); err != nil {
		return nil, err
	}
	return &types.MsgUpdateParamsResponse{}, s.k.Params.Set(ctx, msg.Params)
}
