package keeper

import (
	"context"

	"github.com/cohortchain/cohort/x/registry/types"
)

type msgServer struct{ k Keeper }

// NewMsgServer returns the registry's Msg service.
func NewMsgServer(k Keeper) types.MsgServer { return msgServer{k: k} }

var _ types.MsgServer = msgServer{}

func (s msgServer) RegisterModel(ctx context.Context, msg *types.MsgRegisterModel) (*types.MsgRegisterModelResponse, error) {
	id, err := s.k.RegisterModel(ctx, msg)
	if err != nil {
		return nil, err
	}
	return &types.MsgRegisterModelResponse{ModelId: id}, nil
}

func (s msgServer) PublishVersion(ctx context.Context, msg *types.MsgPublishVersion) (*types.MsgPublishVersionResponse, error) {
	n, err := s.k.PublishVersion(ctx, msg)
	if err != nil {
		return nil, err
	}
	return &types.MsgPublishVersionResponse{Number: n}, nil
}

func (s msgServer) SetLicense(ctx context.Context, msg *types.MsgSetLicense) (*types.MsgSetLicenseResponse, error) {
	return &types.MsgSetLicenseResponse{}, s.k.SetLicense(ctx, msg.Owner, msg.ModelId, msg.License)
}

func (s msgServer) SetAccess(ctx context.Context, msg *types.MsgSetAccess) (*types.MsgSetAccessResponse, error) {
	return &types.MsgSetAccessResponse{}, s.k.SetAccess(ctx, msg.Owner, msg.ModelId, msg.Public)
}

func (s msgServer) GrantAccess(ctx context.Context, msg *types.MsgGrantAccess) (*types.MsgGrantAccessResponse, error) {
	return &types.MsgGrantAccessResponse{}, s.k.GrantAccess(ctx, msg.Owner, msg.ModelId, msg.Grantee)
}

func (s msgServer) RevokeAccess(ctx context.Context, msg *types.MsgRevokeAccess) (*types.MsgRevokeAccessResponse, error) {
	return &types.MsgRevokeAccessResponse{}, s.k.RevokeAccess(ctx, msg.Owner, msg.ModelId, msg.Grantee)
}

func (s msgServer) SetVersionStatus(ctx context.Context, msg *types.MsgSetVersionStatus) (*types.MsgSetVersionStatusResponse, error) {
	return &types.MsgSetVersionStatusResponse{}, s.k.SetVersionStatus(ctx, msg.Owner, msg.ModelId, msg.Number, msg.Status)
}

func (s msgServer) TransferOwnership(ctx context.Context, msg *types.MsgTransferOwnership) (*types.MsgTransferOwnershipResponse, error) {
	return &types.MsgTransferOwnershipResponse{}, s.k.TransferOwnership(ctx, msg.Owner, msg.ModelId, msg.NewOwner)
}

func (s msgServer) FreezeModel(ctx context.Context, msg *types.MsgFreezeModel) (*types.MsgFreezeModelResponse, error) {
	return &types.MsgFreezeModelResponse{}, s.k.Freeze(ctx, msg.Authority, msg.ModelId, msg.Frozen, msg.Reason)
}
