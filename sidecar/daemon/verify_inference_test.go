package daemon

import (
	"context"
	"crypto/sha256"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"

	"github.com/cohortchain/cohort/sidecar/blobstore"
	"github.com/cohortchain/cohort/sidecar/engine"
	"github.com/cohortchain/cohort/sidecar/federation"
	"github.com/cohortchain/cohort/sidecar/serve"
	"github.com/cohortchain/cohort/sidecar/tensor"
	markettypes "github.com/cohortchain/cohort/x/market/types"
	regtypes "github.com/cohortchain/cohort/x/registry/types"
	verifytypes "github.com/cohortchain/cohort/x/verify/types"
)

// fakeMarket answers Job with an inference job of client on model 1 version 1.
type fakeMarket struct {
	markettypes.QueryClient
	client string
}

func (f fakeMarket) Job(_ context.Context, r *markettypes.QueryJobRequest, _ ...grpc.CallOption) (*markettypes.QueryJobResponse, error) {
	return &markettypes.QueryJobResponse{Job: markettypes.Job{Id: r.Id, Kind: markettypes.JOB_KIND_INFERENCE, Client: f.client,
		Spec: markettypes.JobSpec{ModelId: "1", ModelVersion: "1"}}}, nil
}

// fakeRegistry answers Model and Version for a model whose blobs are local.
type fakeRegistry struct {
	regtypes.QueryClient
	spec, weights blobstore.Ref
}

func (f fakeRegistry) Model(_ context.Context, _ *regtypes.QueryModelRequest, _ ...grpc.CallOption) (*regtypes.QueryModelResponse, error) {
	return &regtypes.QueryModelResponse{Model: regtypes.Model{Id: 1, Architecture: regtypes.Architecture{SpecHash: f.spec.Hash[:]}}}, nil
}

func (f fakeRegistry) Version(_ context.Context, _ *regtypes.QueryVersionRequest, _ ...grpc.CallOption) (*regtypes.QueryVersionResponse, error) {
	return &regtypes.QueryVersionResponse{Version: regtypes.Version{ModelId: 1, Number: 1, WeightsHash: f.weights.Hash[:],
		Size_: uint64(f.weights.Size), Format: "safetensors", Status: regtypes.VERSION_STATUS_ACTIVE}}, nil
}

// serveTestModel puts a small MLP (6 → 4 → relu → 3) in d's store and
// answers d's market and registry queries with an inference job of client
// on it (model 1 version 1).
func serveTestModel(t *testing.T, d *Daemon, client string) (engine.Spec, tensor.Set) {
	t.Helper()
	spec := engine.Spec{Layers: []engine.LayerSpec{{Kind: engine.KindDense, Inputs: 6, Outputs: 4}, {Kind: engine.KindReLU}, {Kind: engine.KindDense, Inputs: 4, Outputs: 3}}}
	sb, err := spec.Encode()
	require.NoError(t, err)
	sref, err := d.store.PutBytes(sb)
	require.NoError(t, err)
	w, err := engine.Init(spec, 7)
	require.NoError(t, err)
	wb, err := federation.EncodeWeights(w)
	require.NoError(t, err)
	wref, err := d.store.PutBytes(wb)
	require.NoError(t, err)
	d.mkt, d.reg = fakeMarket{client: client}, fakeRegistry{spec: sref, weights: wref}
	return spec, w
}

// TestReexecuteInference: the output the provider signed is checked by
// running the model on the reported input: equal passes, different fails,
// and an input that is missing (after the grace) or is not the one
// reported is no fault of the provider.
func TestReexecuteInference(t *testing.T) {
	d := testDaemon(t, Config{UnavailableGrace: 50 * time.Millisecond, FetchTimeout: 5 * time.Second})
	spec, w := serveTestModel(t, d, "")

	// The reporter's blob store, serving the input.
	rs, err := blobstore.New(t.TempDir())
	require.NoError(t, err)
	srv := httptest.NewServer(blobstore.Handler(rs))
	defer srv.Close()
	x := []float32{1, 2, 3, 4, 5, 6, -1, 0.5, 0, 2, 1, 3}
	in := serve.EncodeFloats(x)
	iref, err := rs.PutBytes(in)
	require.NoError(t, err)
	out, err := engine.Forward(spec, w, x, 2)
	require.NoError(t, err)
	good := serve.HashFloats(out)
	out[0]++
	bad := serve.HashFloats(out)
	inHash := sha256.Sum256(in)

	task := func(id uint64, loc string, result [32]byte, rows uint64) verifytypes.Task {
		return verifytypes.Task{Id: id, Work: verifytypes.Work{Kind: verifytypes.WORK_KIND_INFERENCE, JobId: 1,
			ResultHash: result[:], CheckpointRoot: inHash[:], TotalSteps: rows, Location: loc}}
	}
	loc := srv.URL + blobstore.BlobPath + iref.Hex()
	ctx := context.Background()
	v, err := d.reexecuteInference(ctx, task(1, loc, good, 2))
	require.NoError(t, err)
	require.Equal(t, verifytypes.OUTCOME_PASS, v.Outcome, "the honest output")
	v, err = d.reexecuteInference(ctx, task(2, loc, bad, 2))
	require.NoError(t, err)
	require.Equal(t, verifytypes.OUTCOME_FAIL, v.Outcome, "a wrong output")
	v, err = d.reexecuteInference(ctx, task(3, loc, good, 3))
	require.NoError(t, err)
	require.Equal(t, verifytypes.OUTCOME_FAIL, v.Outcome, "rows the input does not have")

	missing := srv.URL + blobstore.BlobPath + blobstore.RefOf([]byte("nothing")).Hex()
	_, err = d.reexecuteInference(ctx, task(4, missing, bad, 2))
	require.ErrorIs(t, err, errNotYet, "within the grace: no verdict yet")
	time.Sleep(60 * time.Millisecond)
	v, err = d.reexecuteInference(ctx, task(4, missing, bad, 2))
	require.NoError(t, err)
	require.Equal(t, verifytypes.OUTCOME_PASS, v.Outcome, "the reporter's input is gone: not the provider's fault")
}
