package keeper

import (
	"context"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"cosmossdk.io/collections"

	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/cosmos/cosmos-sdk/types/query"

	"github.com/cohortchain/cohort/internal/pagination"
	"github.com/cohortchain/cohort/x/federated/types"
)

type queryServer struct{ k Keeper }

// NewQueryServer returns the federated module's Query service.
func NewQueryServer(k Keeper) types.QueryServer { return queryServer{k: k} }

var _ types.QueryServer = queryServer{}

func (q queryServer) Params(ctx context.Context, _ *types.QueryParamsRequest) (*types.QueryParamsResponse, error) {
	p, err := q.k.Params.Get(ctx)
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return &types.QueryParamsResponse{Params: p}, nil
}

func (q queryServer) Run(ctx context.Context, req *types.QueryRunRequest) (*types.QueryRunResponse, error) {
	if req == nil {
		return nil, status.Error(codes.InvalidArgument, "empty request")
	}
	r, err := q.k.GetRun(ctx, req.Id)
	if err != nil {
		return nil, status.Error(codes.NotFound, err.Error())
	}
	return &types.QueryRunResponse{Run: r}, nil
}

func (q queryServer) Runs(ctx context.Context, req *types.QueryRunsRequest) (*types.QueryRunsResponse, error) {
	if req == nil {
		req = &types.QueryRunsRequest{}
	}
	runs, res, err := query.CollectionPaginate(ctx, q.k.Runs, pagination.Cap(req.Pagination),
		func(_ uint64, r types.Run) (types.Run, error) { return r, nil })
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	return &types.QueryRunsResponse{Runs: runs, Pagination: res}, nil
}

func (q queryServer) Participants(ctx context.Context, req *types.QueryParticipantsRequest) (*types.QueryParticipantsResponse, error) {
	if req == nil {
		return nil, status.Error(codes.InvalidArgument, "empty request")
	}
	res := &types.QueryParticipantsResponse{}
	err := q.k.Participants.Walk(ctx, collections.NewPrefixedPairRange[uint64, sdk.AccAddress](req.RunId),
		func(_ collections.Pair[uint64, sdk.AccAddress], p types.Participant) (bool, error) {
			res.Participants = append(res.Participants, p)
			return false, nil
		})
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return res, nil
}

func (q queryServer) Round(ctx context.Context, req *types.QueryRoundRequest) (*types.QueryRoundResponse, error) {
	if req == nil {
		return nil, status.Error(codes.InvalidArgument, "empty request")
	}
	r, err := q.k.GetRound(ctx, req.RunId, req.Number)
	if err != nil {
		return nil, status.Error(codes.NotFound, err.Error())
	}
	return &types.QueryRoundResponse{Round: r}, nil
}

func (q queryServer) Updates(ctx context.Context, req *types.QueryUpdatesRequest) (*types.QueryUpdatesResponse, error) {
	if req == nil {
		return nil, status.Error(codes.InvalidArgument, "empty request")
	}
	res := &types.QueryUpdatesResponse{}
	err := q.k.Updates.Walk(ctx, collections.NewSuperPrefixedTripleRange[uint64, uint32, sdk.AccAddress](req.RunId, req.Round),
		func(_ collections.Triple[uint64, uint32, sdk.AccAddress], u types.Update) (bool, error) {
			res.Updates = append(res.Updates, u)
			return false, nil
		})
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return res, nil
}

func (q queryServer) SecAggMessages(ctx context.Context, req *types.QuerySecAggMessagesRequest) (*types.QuerySecAggMessagesResponse, error) {
	if req == nil {
		return nil, status.Error(codes.InvalidArgument, "empty request")
	}
	round, err := q.k.GetRound(ctx, req.RunId, req.Round)
	if err != nil {
		return nil, status.Error(codes.NotFound, err.Error())
	}
	msgs, err := q.k.SecAggMessages(ctx, round, req.Stage)
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return &types.QuerySecAggMessagesResponse{Messages: msgs}, nil
}

func (q queryServer) Escrow(ctx context.Context, _ *types.QueryEscrowRequest) (*types.QueryEscrowResponse, error) {
	total, err := q.k.EscrowTotal(ctx)
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return &types.QueryEscrowResponse{ModuleBalance: q.k.bank.GetAllBalances(ctx, q.k.moduleAddr), EscrowTotal: total}, nil
}
