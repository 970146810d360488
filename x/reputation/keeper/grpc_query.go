package keeper

import (
	"context"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/cosmos/cosmos-sdk/types/query"

	"github.com/cohortchain/cohort/internal/pagination"
	"github.com/cohortchain/cohort/x/reputation/types"
)

type queryServer struct{ k Keeper }

// NewQueryServer returns the reputation module's Query service.
func NewQueryServer(k Keeper) types.QueryServer { return queryServer{k: k} }

func (q queryServer) Params(ctx context.Context, _ *types.QueryParamsRequest) (*types.QueryParamsResponse, error) {
	p, err := q.k.Params.Get(ctx)
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return &types.QueryParamsResponse{Params: p}, nil
}

func (q queryServer) Reputation(ctx context.Context, req *types.QueryReputationRequest) (*types.QueryReputationResponse, error) {
	if req == nil {
		return nil, status.Error(codes.InvalidArgument, "empty request")
	}
	op, err := q.k.addressCodec.StringToBytes(req.Operator)
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "operator: %v", err)
	}
	r, err := q.k.Get(ctx, op)
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return &types.QueryReputationResponse{Reputation: r}, nil
}

func (q queryServer) Reputations(ctx context.Context, req *types.QueryReputationsRequest) (*types.QueryReputationsResponse, error) {
	if req == nil {
		req = &types.QueryReputationsRequest{}
	}
	out, page, err := query.CollectionPaginate(ctx, q.k.Reputations, pagination.Cap(req.Pagination),
		func(_ sdk.AccAddress, r types.Reputation) (types.Reputation, error) { return r, nil })
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	return &types.QueryReputationsResponse{Reputations: out, Pagination: page}, nil
}
