package keeper

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"cosmossdk.io/collections"

	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/cosmos/cosmos-sdk/types/query"

	"github.com/cohortchain/cohort/internal/pagination"
	"github.com/cohortchain/cohort/x/registry/types"
)

type queryServer struct{ k Keeper }

// NewQueryServer returns the registry's Query service.
func NewQueryServer(k Keeper) types.QueryServer { return queryServer{k: k} }

var _ types.QueryServer = queryServer{}

func notFound(err error) error {
	if errors.Is(err, types.ErrModelNotFound) || errors.Is(err, types.ErrVersionNotFound) {
		return status.Error(codes.NotFound, err.Error())
	}
	return status.Error(codes.Internal, err.Error())
}

func (q queryServer) Model(ctx context.Context, req *types.QueryModelRequest) (*types.QueryModelResponse, error) {
	if req == nil {
		return nil, status.Error(codes.InvalidArgument, "empty request")
	}
	m, err := q.k.GetModel(ctx, req.Id)
	if err != nil {
		return nil, notFound(err)
	}
	return &types.QueryModelResponse{Model: m}, nil
}

func (q queryServer) ModelByName(ctx context.Context, req *types.QueryModelByNameRequest) (*types.QueryModelResponse, error) {
	if req == nil {
		return nil, status.Error(codes.InvalidArgument, "empty request")
	}
	owner, err := q.k.addressCodec.StringToBytes(req.Owner)
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "owner: %v", err)
	}
	id, err := q.k.ByOwnerName.Get(ctx, collections.Join(sdk.AccAddress(owner), req.Name))
	if err != nil {
		return nil, status.Errorf(codes.NotFound, "%s has no model %q", req.Owner, req.Name)
	}
	return q.Model(ctx, &types.QueryModelRequest{Id: id})
}

// Models uses the index that matches the filter: owner, task, licence, or all.
func (q queryServer) Models(ctx context.Context, req *types.QueryModelsRequest) (*types.QueryModelsResponse, error) {
	if req == nil {
		req = &types.QueryModelsRequest{}
	}
	page := pagination.Cap(req.Pagination)
	keep := func(m types.Model) bool {
		return (req.Owner == "" || m.Owner == req.Owner) && (req.Task == "" || m.Task == req.Task) &&
			(req.License == "" || m.License.SpdxId == req.License)
	}
	byString := func(index collections.KeySet[collections.Pair[string, uint64]], prefix string) ([]types.Model, *query.PageResponse, error) {
		return query.CollectionFilteredPaginate(ctx, index, page,
			func(key collections.Pair[string, uint64], _ collections.NoValue) (bool, error) {
				m, err := q.k.Models.Get(ctx, key.K2())
				return err == nil && keep(m), err
			},
			func(key collections.Pair[string, uint64], _ collections.NoValue) (types.Model, error) {
				return q.k.Models.Get(ctx, key.K2())
			},
			query.WithCollectionPaginationPairPrefix[string, uint64](prefix))
	}
	var (
		models []types.Model
		res    *query.PageResponse
		err    error
	)
	switch {
	case req.Owner != "":
		owner, aerr := q.k.addressCodec.StringToBytes(req.Owner)
		if aerr != nil {
			return nil, status.Errorf(codes.InvalidArgument, "owner: %v", aerr)
		}
		models, res, err = query.CollectionFilteredPaginate(ctx, q.k.ByOwnerName, page,
			func(_ collections.Pair[sdk.AccAddress, string], id uint64) (bool, error) {
				m, err := q.k.Models.Get(ctx, id)
				return err == nil && keep(m), err
			},
			func(_ collections.Pair[sdk.AccAddress, string], id uint64) (types.Model, error) {
				return q.k.Models.Get(ctx, id)
			},
			query.WithCollectionPaginationPairPrefix[sdk.AccAddress, string](owner))
	case req.Task != "":
		models, res, err = byString(q.k.ByTask, req.Task)
	case req.License != "":
		models, res, err = byString(q.k.ByLicense, req.License)
	default:
		models, res, err = query.CollectionPaginate(ctx, q.k.Models, page,
			func(_ uint64, m types.Model) (types.Model, error) { return m, nil })
	}
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	return &types.QueryModelsResponse{Models: models, Pagination: res}, nil
}

func (q queryServer) Version(ctx context.Context, req *types.QueryVersionRequest) (*types.QueryVersionResponse, error) {
	if req == nil {
		return nil, status.Error(codes.InvalidArgument, "empty request")
	}
	v, err := q.k.GetVersion(ctx, req.ModelId, req.Number)
	if err != nil {
		return nil, notFound(err)
	}
	return &types.QueryVersionResponse{Version: v}, nil
}

func (q queryServer) Versions(ctx context.Context, req *types.QueryVersionsRequest) (*types.QueryVersionsResponse, error) {
	if req == nil {
		return nil, status.Error(codes.InvalidArgument, "empty request")
	}
	vs, res, err := query.CollectionPaginate(ctx, q.k.Versions, pagination.Cap(req.Pagination),
		func(_ VersionKey, v types.Version) (types.Version, error) { return v, nil },
		query.WithCollectionPaginationPairPrefix[uint64, uint64](req.ModelId))
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	return &types.QueryVersionsResponse{Versions: vs, Pagination: res}, nil
}

func (q queryServer) Lineage(ctx context.Context, req *types.QueryLineageRequest) (*types.QueryLineageResponse, error) {
	if req == nil {
		return nil, status.Error(codes.InvalidArgument, "empty request")
	}
	anc, desc, truncated, err := q.k.Lineage(ctx, req.ModelId, req.Number, req.MaxDepth)
	if err != nil {
		return nil, notFound(err)
	}
	return &types.QueryLineageResponse{Ancestors: anc, Descendants: desc, Truncated: truncated}, nil
}

func (q queryServer) CanUse(ctx context.Context, req *types.QueryCanUseRequest) (*types.QueryCanUseResponse, error) {
	if req == nil {
		return nil, status.Error(codes.InvalidArgument, "empty request")
	}
	acct, err := q.k.addressCodec.StringToBytes(req.Account)
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "account: %v", err)
	}
	ok, reason, err := q.k.CanUse(ctx, req.ModelId, req.Number, acct)
	if err != nil {
		return nil, notFound(err)
	}
	return &types.QueryCanUseResponse{Allowed: ok, Reason: reason}, nil
}

func (q queryServer) VersionByJob(ctx context.Context, req *types.QueryVersionByJobRequest) (*types.QueryVersionResponse, error) {
	if req == nil {
		return nil, status.Error(codes.InvalidArgument, "empty request")
	}
	ref, err := q.k.ByJob.Get(ctx, req.JobId)
	if err != nil {
		return nil, status.Errorf(codes.NotFound, "job %d produced no registered version", req.JobId)
	}
	return q.Version(ctx, &types.QueryVersionRequest{ModelId: ref.ModelId, Number: ref.Number})
}

func (q queryServer) VersionByFederatedRun(ctx context.Context, req *types.QueryVersionByFederatedRunRequest) (*types.QueryVersionResponse, error) {
	if req == nil {
		return nil, status.Error(codes.InvalidArgument, "empty request")
	}
	ref, err := q.k.ByRun.Get(ctx, req.RunId)
	if err != nil {
		return nil, status.Errorf(codes.NotFound, "federated run %d published no registered version", req.RunId)
	}
	return q.Version(ctx, &types.QueryVersionRequest{ModelId: ref.ModelId, Number: ref.Number})
}
