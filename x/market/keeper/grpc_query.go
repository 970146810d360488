package keeper

import (
	"context"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"cosmossdk.io/collections"

	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/cosmos/cosmos-sdk/types/query"

	"github.com/cohortchain/cohort/internal/pagination"
	"github.com/cohortchain/cohort/x/market/types"
)

type queryServer struct{ k Keeper }

// NewQueryServer returns the market's Query service.
func NewQueryServer(k Keeper) types.QueryServer { return queryServer{k: k} }

var _ types.QueryServer = queryServer{}

func (q queryServer) Params(ctx context.Context, _ *types.QueryParamsRequest) (*types.QueryParamsResponse, error) {
	p, err := q.k.Params.Get(ctx)
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return &types.QueryParamsResponse{Params: p}, nil
}

func (q queryServer) Job(ctx context.Context, req *types.QueryJobRequest) (*types.QueryJobResponse, error) {
	if req == nil {
		return nil, status.Error(codes.InvalidArgument, "empty request")
	}
	j, err := q.k.GetJob(ctx, req.Id)
	if err != nil {
		return nil, status.Error(codes.NotFound, err.Error())
	}
	return &types.QueryJobResponse{Job: j}, nil
}

// Jobs uses the narrowest index the request allows: by client, by
// provider, by state, or all jobs; other filters are applied on the way.
func (q queryServer) Jobs(ctx context.Context, req *types.QueryJobsRequest) (*types.QueryJobsResponse, error) {
	if req == nil {
		req = &types.QueryJobsRequest{}
	}
	page := pagination.Cap(req.Pagination)
	keep := func(j types.Job) bool {
		return (req.Client == "" || j.Client == req.Client) &&
			(req.Provider == "" || (j.Lease != nil && j.Lease.Provider == req.Provider)) &&
			(req.State == types.JOB_STATE_UNSPECIFIED || j.State == req.State)
	}
	var (
		jobs []types.Job
		res  *query.PageResponse
		err  error
	)
	byAddr := func(index collections.KeySet[collections.Pair[sdk.AccAddress, uint64]], addr string) error {
		a, err := q.k.addressCodec.StringToBytes(addr)
		if err != nil {
			return status.Errorf(codes.InvalidArgument, "address %q: %v", addr, err)
		}
		jobs, res, err = query.CollectionFilteredPaginate(ctx, index, page,
			func(key collections.Pair[sdk.AccAddress, uint64], _ collections.NoValue) (bool, error) {
				j, err := q.k.Jobs.Get(ctx, key.K2())
				return err == nil && keep(j), err
			},
			func(key collections.Pair[sdk.AccAddress, uint64], _ collections.NoValue) (types.Job, error) {
				return q.k.Jobs.Get(ctx, key.K2())
			},
			query.WithCollectionPaginationPairPrefix[sdk.AccAddress, uint64](a))
		return err
	}
	switch {
	case req.Client != "":
		err = byAddr(q.k.JobsByClient, req.Client)
	case req.Provider != "":
		err = byAddr(q.k.JobsByProvider, req.Provider)
	case req.State != types.JOB_STATE_UNSPECIFIED:
		jobs, res, err = query.CollectionPaginate(ctx, q.k.JobsByState, page,
			func(key collections.Pair[int32, uint64], _ collections.NoValue) (types.Job, error) {
				return q.k.Jobs.Get(ctx, key.K2())
			},
			query.WithCollectionPaginationPairPrefix[int32, uint64](int32(req.State)))
	default:
		jobs, res, err = query.CollectionPaginate(ctx, q.k.Jobs, page,
			func(_ uint64, j types.Job) (types.Job, error) { return j, nil })
	}
	if err != nil {
		if _, ok := status.FromError(err); ok {
			return nil, err
		}
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	return &types.QueryJobsResponse{Jobs: jobs, Pagination: res}, nil
}

func (q queryServer) Bids(ctx context.Context, req *types.QueryBidsRequest) (*types.QueryBidsResponse, error) {
	if req == nil {
		return nil, status.Error(codes.InvalidArgument, "empty request")
	}
	bids, res, err := query.CollectionPaginate(ctx, q.k.Bids, pagination.Cap(req.Pagination),
		func(_ collections.Pair[uint64, sdk.AccAddress], b types.Bid) (types.Bid, error) { return b, nil },
		query.WithCollectionPaginationPairPrefix[uint64, sdk.AccAddress](req.JobId))
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	return &types.QueryBidsResponse{Bids: bids, Pagination: res}, nil
}

func (q queryServer) Escrow(ctx context.Context, req *types.QueryEscrowRequest) (*types.QueryEscrowResponse, error) {
	if req == nil {
		req = &types.QueryEscrowRequest{}
	}
	res := &types.QueryEscrowResponse{}
	if req.JobId != 0 {
		j, err := q.k.GetJob(ctx, req.JobId)
		if err != nil {
			return nil, status.Error(codes.NotFound, err.Error())
		}
		res.Job = j.Escrow
	}
	h, err := q.k.ComputeHoldings(ctx)
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	res.EscrowTotal, res.DepositsTotal, res.BondsTotal = h.Escrow, h.Deposits, h.Bonds
	res.ModuleBalance = q.k.bank.GetAllBalances(ctx, q.k.moduleAddr)
	return res, nil
}
