package keeper

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"cosmossdk.io/collections"
	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/cosmos/cosmos-sdk/types/query"

	"github.com/cohortchain/cohort/internal/pagination"
	"github.com/cohortchain/cohort/x/verify/types"
)

type queryServer struct{ k Keeper }

// NewQueryServer returns the verify module's Query service.
func NewQueryServer(k Keeper) types.QueryServer { return queryServer{k: k} }

var _ types.QueryServer = queryServer{}

func (q queryServer) Params(ctx context.Context, _ *types.QueryParamsRequest) (*types.QueryParamsResponse, error) {
	p, err := q.k.Params.Get(ctx)
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return &types.QueryParamsResponse{Params: p}, nil
}

func (q queryServer) Task(ctx context.Context, req *types.QueryTaskRequest) (*types.QueryTaskResponse, error) {
	if req == nil {
		return nil, status.Error(codes.InvalidArgument, "empty request")
	}
	t, err := q.k.GetTask(ctx, req.Id)
	if err != nil {
		return nil, status.Error(codes.NotFound, err.Error())
	}
	return &types.QueryTaskResponse{Task: t}, nil
}

// tasksByIndex pages through an index whose keys end in a task id, under
// prefix.
func tasksByIndex[K1 any](ctx context.Context, k Keeper, index collections.KeySet[collections.Pair[K1, uint64]], prefix K1,
	page *query.PageRequest,
) (*types.QueryTasksResponse, error) {
	tasks, res, err := query.CollectionPaginate(ctx, index, pagination.Cap(page),
		func(key collections.Pair[K1, uint64], _ collections.NoValue) (types.Task, error) {
			return k.Tasks.Get(ctx, key.K2())
		},
		query.WithCollectionPaginationPairPrefix[K1, uint64](prefix))
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	return &types.QueryTasksResponse{Tasks: tasks, Pagination: res}, nil
}

func (q queryServer) TasksByJob(ctx context.Context, req *types.QueryTasksByJobRequest) (*types.QueryTasksResponse, error) {
	if req == nil {
		return nil, status.Error(codes.InvalidArgument, "empty request")
	}
	return tasksByIndex(ctx, q.k, q.k.TasksByJob, req.JobId, req.Pagination)
}

func (q queryServer) TasksByProvider(ctx context.Context, req *types.QueryTasksByProviderRequest) (*types.QueryTasksResponse, error) {
	if req == nil {
		return nil, status.Error(codes.InvalidArgument, "empty request")
	}
	a, err := q.k.addressCodec.StringToBytes(req.Provider)
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "provider %q: %v", req.Provider, err)
	}
	return tasksByIndex(ctx, q.k, q.k.TasksByProvider, sdk.AccAddress(a), req.Pagination)
}

func (q queryServer) TasksByState(ctx context.Context, req *types.QueryTasksByStateRequest) (*types.QueryTasksResponse, error) {
	if req == nil {
		return nil, status.Error(codes.InvalidArgument, "empty request")
	}
	if _, ok := types.TaskState_name[int32(req.State)]; !ok || req.State == types.TASK_STATE_UNSPECIFIED {
		return nil, status.Errorf(codes.InvalidArgument, "unknown state %d", req.State)
	}
	return tasksByIndex(ctx, q.k, q.k.TasksByState, int32(req.State), req.Pagination)
}

// CommitteeTasks is what a validator's sidecar polls: the OPEN tasks it
// must re-execute and attest before their deadlines.
func (q queryServer) CommitteeTasks(ctx context.Context, req *types.QueryCommitteeTasksRequest) (*types.QueryTasksResponse, error) {
	if req == nil {
		return nil, status.Error(codes.InvalidArgument, "empty request")
	}
	cons, err := sdk.ConsAddressFromBech32(req.ConsAddress)
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "cons_address %q: %v", req.ConsAddress, err)
	}
	return tasksByIndex(ctx, q.k, q.k.OpenByMember, []byte(cons), req.Pagination)
}

func (q queryServer) ProviderHistory(ctx context.Context, req *types.QueryProviderHistoryRequest) (*types.QueryProviderHistoryResponse, error) {
	if req == nil {
		return nil, status.Error(codes.InvalidArgument, "empty request")
	}
	a, err := q.k.addressCodec.StringToBytes(req.Provider)
	if err != nil || len(a) == 0 {
		return nil, status.Errorf(codes.InvalidArgument, "provider %q is not an address", req.Provider)
	}
	r, err := q.k.providerRecord(ctx, a)
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return &types.QueryProviderHistoryResponse{Record: r}, nil
}

func (q queryServer) ValidatorRecord(ctx context.Context, req *types.QueryValidatorRecordRequest) (*types.QueryValidatorRecordResponse, error) {
	if req == nil {
		return nil, status.Error(codes.InvalidArgument, "empty request")
	}
	cons, err := sdk.ConsAddressFromBech32(req.ConsAddress)
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "cons_address %q: %v", req.ConsAddress, err)
	}
	r, err := q.k.validatorRecord(ctx, cons, sdk.DefaultBondDenom)
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return &types.QueryValidatorRecordResponse{Record: r}, nil
}

// FiguresJobSteps is the job size the Stats query prices levels for.
const FiguresJobSteps = 1_000

// Stats returns the detection statistics, the observed cost fraction and,
// for each level, what it costs and buys on a 1,000-step job of a provider
// of full reputation.
func (q queryServer) Stats(ctx context.Context, _ *types.QueryStatsRequest) (*types.QueryStatsResponse, error) {
	s, err := q.k.getStats(ctx)
	if err != nil && !errors.Is(err, collections.ErrNotFound) {
		return nil, status.Error(codes.Internal, err.Error())
	}
	p, err := q.k.Params.Get(ctx)
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	res := &types.QueryStatsResponse{Stats: s, CostFraction: sdkmath.LegacyZeroDec().String()}
	if s.StepsCommitted > 0 {
		res.CostFraction = sdkmath.LegacyNewDec(int64(s.StepsSampled)).QuoInt64(int64(s.StepsCommitted)).String()
	}
	for _, l := range p.Levels {
		k := types.SampleSize(p, l, sdkmath.LegacyOneDec(), FiguresJobSteps, false)
		res.Levels = append(res.Levels, types.LevelFigures{
			Name: l.Name, SampleSteps: uint32(k),
			CostFraction:          sdkmath.LegacyNewDec(int64(k)).QuoInt64(FiguresJobSteps).String(),
			DetectionAtTenPercent: types.DetectionProbabilityDec(sdkmath.LegacyNewDecWithPrec(1, 1), k).String(),
		})
	}
	return res, nil
}
