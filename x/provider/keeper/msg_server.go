package keeper

import (
	"context"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/cohortchain/cohort/x/provider/types"
)

type msgServer struct{ k Keeper }

// NewMsgServer returns the provider module's Msg service.
func NewMsgServer(k Keeper) types.MsgServer { return msgServer{k: k} }

var _ types.MsgServer = msgServer{}

func (s msgServer) operator(addr string) (sdk.AccAddress, error) {
	bz, err := s.k.addressCodec.StringToBytes(addr)
	if err != nil {
		return nil, types.ValidateAddress(s.k.addressCodec, "operator", addr)
	}
	return bz, nil
}

func (s msgServer) RegisterProvider(ctx context.Context, msg *types.MsgRegisterProvider) (*types.MsgRegisterProviderResponse, error) {
	op, err := s.operator(msg.Operator)
	if err != nil {
		return nil, err
	}
	return &types.MsgRegisterProviderResponse{}, s.k.Register(ctx, op, msg.Info, msg.Collateral)
}

func (s msgServer) UpdateProvider(ctx context.Context, msg *types.MsgUpdateProvider) (*types.MsgUpdateProviderResponse, error) {
	op, err := s.operator(msg.Operator)
	if err != nil {
		return nil, err
	}
	return &types.MsgUpdateProviderResponse{}, s.k.Update(ctx, op, msg.Info)
}

func (s msgServer) BondCollateral(ctx context.Context, msg *types.MsgBondCollateral) (*types.MsgBondCollateralResponse, error) {
	op, err := s.operator(msg.Operator)
	if err != nil {
		return nil, err
	}
	return &types.MsgBondCollateralResponse{}, s.k.Bond(ctx, op, msg.Amount)
}

func (s msgServer) UnbondCollateral(ctx context.Context, msg *types.MsgUnbondCollateral) (*types.MsgUnbondCollateralResponse, error) {
	op, err := s.operator(msg.Operator)
	if err != nil {
		return nil, err
	}
	id, completion, err := s.k.Unbond(ctx, op, msg.Amount)
	if err != nil {
		return nil, err
	}
	return &types.MsgUnbondCollateralResponse{UnbondingId: id, CompletionEpoch: completion}, nil
}

func (s msgServer) Heartbeat(ctx context.Context, msg *types.MsgHeartbeat) (*types.MsgHeartbeatResponse, error) {
	op, err := s.operator(msg.Operator)
	if err != nil {
		return nil, err
	}
	return &types.MsgHeartbeatResponse{}, s.k.Heartbeat(ctx, op)
}

func (s msgServer) Unjail(ctx context.Context, msg *types.MsgUnjail) (*types.MsgUnjailResponse, error) {
	op, err := s.operator(msg.Operator)
	if err != nil {
		return nil, err
	}
	return &types.MsgUnjailResponse{}, s.k.Unjail(ctx, op)
}

func (s msgServer) UpdateParams(ctx context.Context, msg *types.MsgUpdateParams) (*types.MsgUpdateParamsResponse, error) {
	if msg.Authority != s.k.authority {
		return nil, types.ErrUnauthorized.Wrapf("expected %s, got %s", s.k.authority, msg.Authority)
	}
	if err := msg.Params.Validate(); err != nil {
		return nil, err
	}
	return &types.MsgUpdateParamsResponse{}, s.k.Params.Set(ctx, msg.Params)
}
