package keeper

import (
	"context"
	"fmt"

	"github.com/cohortchain/cohort/x/federated/types"
)

type msgServer struct{ k Keeper }

// NewMsgServer returns the federated module's Msg service.
func NewMsgServer(k Keeper) types.MsgServer { return msgServer{k: k} }

var _ types.MsgServer = msgServer{}

func (s msgServer) CreateRun(ctx context.Context, msg *types.MsgCreateRun) (*types.MsgCreateRunResponse, error) {
	id, escrowed, err := s.k.CreateRun(ctx, msg)
	if err != nil {
		return nil, err
	}
	return &types.MsgCreateRunResponse{RunId: id, Escrowed: escrowed}, nil
}

func (s msgServer) CancelRun(ctx context.Context, msg *types.MsgCancelRun) (*types.MsgCancelRunResponse, error) {
	refunded, err := s.k.CancelRun(ctx, msg.Client, msg.RunId)
	if err != nil {
		return nil, err
	}
	return &types.MsgCancelRunResponse{Refunded: refunded}, nil
}

func (s msgServer) JoinRun(ctx context.Context, msg *types.MsgJoinRun) (*types.MsgJoinRunResponse, error) {
	return &types.MsgJoinRunResponse{}, s.k.JoinRun(ctx, msg)
}

func (s msgServer) SubmitUpdate(ctx context.Context, msg *types.MsgSubmitUpdate) (*types.MsgSubmitUpdateResponse, error) {
	return &types.MsgSubmitUpdateResponse{}, s.k.SubmitUpdate(ctx, msg)
}

func (s msgServer) FinalizeRound(ctx context.Context, msg *types.MsgFinalizeRound) (*types.MsgFinalizeRoundResponse, error) {
	return &types.MsgFinalizeRoundResponse{}, s.k.FinalizeRound(ctx, msg.Sender, msg.Result)
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

func (s msgServer) SubmitSecAggMessage(ctx context.Context, msg *types.MsgSubmitSecAggMessage) (*types.MsgSubmitSecAggMessageResponse, error) {
	return &types.MsgSubmitSecAggMessageResponse{}, s.k.SubmitSecAggMessage(ctx, msg)
}
