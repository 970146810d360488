package keeper

import (
	"context"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"cosmossdk.io/collections"

	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/cosmos/cosmos-sdk/types/query"

	"github.com/cohortchain/cohort/internal/pagination"
	"github.com/cohortchain/cohort/x/provider/types"
)

type queryServer struct{ k Keeper }

// NewQueryServer returns the provider module's Query service.
func NewQueryServer(k Keeper) types.QueryServer { return queryServer{k: k} }

var _ types.QueryServer = queryServer{}

func (q queryServer) Params(ctx context.Context, _ *types.QueryParamsRequest) (*types.QueryParamsResponse, error) {
	p, err := q.k.Params.Get(ctx)
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return &types.QueryParamsResponse{Params: p}, nil
}

func (q queryServer) Provider(ctx context.Context, req *types.QueryProviderRequest) (*types.QueryProviderResponse, error) {
	if req == nil {
		return nil, status.Error(codes.InvalidArgument, "empty request")
	}
	op, err := q.k.addressCodec.StringToBytes(req.Operator)
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "operator: %v", err)
	}
	p, err := q.k.GetProvider(ctx, op)
	if err != nil {
		return nil, status.Error(codes.NotFound, err.Error())
	}
	return &types.QueryProviderResponse{Provider: p, CanBid: q.k.canBid(ctx, p) == nil}, nil
}

func (q queryServer) Providers(ctx context.Context, req *types.QueryProvidersRequest) (*types.QueryProvidersResponse, error) {
	if req == nil {
		req = &types.QueryProvidersRequest{}
	}
	providers, page, err := query.CollectionFilteredPaginate(ctx, q.k.Providers, pagination.Cap(req.Pagination),
		func(_ sdk.AccAddress, p types.Provider) (bool, error) {
			return req.Status == types.STATUS_UNSPECIFIED || p.Status == req.Status, nil
		},
		func(_ sdk.AccAddress, p types.Provider) (types.Provider, error) { return p, nil },
	)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	return &types.QueryProvidersResponse{Providers: providers, Pagination: page}, nil
}

func (q queryServer) Unbondings(ctx context.Context, req *types.QueryUnbondingsRequest) (*types.QueryUnbondingsResponse, error) {
	if req == nil {
		return nil, status.Error(codes.InvalidArgument, "empty request")
	}
	op, err := q.k.addressCodec.StringToBytes(req.Operator)
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "operator: %v", err)
	}
	out, page, err := query.CollectionPaginate(ctx, q.k.ByOperator, pagination.Cap(req.Pagination),
		func(key collections.Pair[sdk.AccAddress, uint64], _ collections.NoValue) (types.Unbonding, error) {
			return q.k.Unbondings.Get(ctx, key.K2())
		},
		query.WithCollectionPaginationPairPrefix[sdk.AccAddress, uint64](op),
	)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	return &types.QueryUnbondingsResponse{Unbondings: out, Pagination: page}, nil
}
