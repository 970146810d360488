package keeper

import (
	"context"

	"github.com/cohortchain/cohort/x/market/types"
)

type msgServer struct{ k Keeper }

// NewMsgServer returns the market's Msg service.
func NewMsgServer(k Keeper) types.MsgServer { return msgServer{k: k} }

var _ types.MsgServer = msgServer{}

// signer checks that addr is a valid account address.
func (s msgServer) signer(addr string) error {
	_, err := s.k.addr(addr)
	return err
}

func (s msgServer) CreateJob(ctx context.Context, msg *types.MsgCreateJob) (*types.MsgCreateJobResponse, error) {
	id, err := s.k.CreateJob(ctx, msg)
	if err != nil {
		return nil, err
	}
	return &types.MsgCreateJobResponse{JobId: id}, nil
}

func (s msgServer) PlaceBid(ctx context.Context, msg *types.MsgPlaceBid) (*types.MsgPlaceBidResponse, error) {
	return &types.MsgPlaceBidResponse{}, s.k.PlaceBid(ctx, msg)
}

func (s msgServer) CloseBid(ctx context.Context, msg *types.MsgCloseBid) (*types.MsgCloseBidResponse, error) {
	return &types.MsgCloseBidResponse{}, s.k.CloseBid(ctx, msg.Provider, msg.JobId)
}

func (s msgServer) AcceptBid(ctx context.Context, msg *types.MsgAcceptBid) (*types.MsgAcceptBidResponse, error) {
	if err := s.signer(msg.Client); err != nil {
		return nil, err
	}
	return &types.MsgAcceptBidResponse{}, s.k.AcceptBid(ctx, msg.Client, msg.JobId, msg.Provider)
}

func (s msgServer) SubmitResult(ctx context.Context, msg *types.MsgSubmitResult) (*types.MsgSubmitResultResponse, error) {
	if err := s.signer(msg.Provider); err != nil {
		return nil, err
	}
	end, err := s.k.SubmitResult(ctx, msg.Provider, msg.JobId, msg.Result)
	if err != nil {
		return nil, err
	}
	return &types.MsgSubmitResultResponse{ChallengeEndsHeight: end}, nil
}

func (s msgServer) AcceptResult(ctx context.Context, msg *types.MsgAcceptResult) (*types.MsgAcceptResultResponse, error) {
	if err := s.signer(msg.Client); err != nil {
		return nil, err
	}
	return &types.MsgAcceptResultResponse{}, s.k.AcceptResult(ctx, msg.Client, msg.JobId)
}

func (s msgServer) Dispute(ctx context.Context, msg *types.MsgDispute) (*types.MsgDisputeResponse, error) {
	taskID, err := s.k.Dispute(ctx, msg.Disputer, msg.JobId, msg.Reason)
	if err != nil {
		return nil, err
	}
	return &types.MsgDisputeResponse{VerifyTaskId: taskID}, nil
}

func (s msgServer) CancelJob(ctx context.Context, msg *types.MsgCancelJob) (*types.MsgCancelJobResponse, error) {
	if err := s.signer(msg.Client); err != nil {
		return nil, err
	}
	refunded, err := s.k.CancelJob(ctx, msg.Client, msg.JobId)
	if err != nil {
		return nil, err
	}
	return &types.MsgCancelJobResponse{Refunded: refunded}, nil
}

func (s msgServer) ClaimUsage(ctx context.Context, msg *types.MsgClaimUsage) (*types.MsgClaimUsageResponse, error) {
	if err := s.signer(msg.Provider); err != nil {
		return nil, err
	}
	units, taskID, err := s.k.ClaimUsage(ctx, msg)
	if err != nil {
		return nil, err
	}
	return &types.MsgClaimUsageResponse{Units: units, VerifyTaskId: taskID}, nil
}

func (s msgServer) ReportMismatch(ctx context.Context, msg *types.MsgReportMismatch) (*types.MsgReportMismatchResponse, error) {
	if err := s.signer(msg.Reporter); err != nil {
		return nil, err
	}
	id, err := s.k.ReportMismatch(ctx, msg)
	if err != nil {
		return nil, err
	}
	return &types.MsgReportMismatchResponse{VerifyTaskId: id}, nil
}

func (s msgServer) TopUp(ctx context.Context, msg *types.MsgTopUp) (*types.MsgTopUpResponse, error) {
	return &types.MsgTopUpResponse{}, s.k.TopUp(ctx, msg.Client, msg.JobId, msg.Amount)
}

func (s msgServer) UpdateParams(ctx context.Context, msg *types.MsgUpdateParams) (*types.MsgUpdateParamsResponse, error) {
	if msg.Authority != s.k.authority {
		return nil, types.ErrUnauthorized.Wrapf("expected %s, got %s", s.k.authority, msg.Authority)
	}
	if err := msg.Params.Validate(s.k.addressCodec); err != nil {
		return nil, err
	}
	return &types.MsgUpdateParamsResponse{}, s.k.Params.Set(ctx, msg.Params)
}
