package serve

import (
	"net/http/httptest"
	"testing"

	"github.com/cohortchain/cohort/sidecar/blobstore"
	"github.com/cohortchain/cohort/sidecar/engine"
	"github.com/cohortchain/cohort/sidecar/federation"
)

// testSpec is a small MLP: width → hidden → relu → classes.
func testSpec(width, hidden, classes int) engine.Spec {
	return engine.Spec{Layers: []engine.LayerSpec{
		{Kind: engine.KindDense, Inputs: width, Outputs: hidden}, {Kind: engine.KindReLU},
		{Kind: engine.KindDense, Inputs: hidden, Outputs: classes}}}
}

// fixture is a blob store holding a spec, a weights server, and a source
// describing versions of models with those weights.
type fixture struct {
	store  *blobstore.Store
	remote *blobstore.Store
	srv    *httptest.Server
	source *StaticSource
	loader *Loader
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	st, err := blobstore.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	remote, err := blobstore.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(blobstore.Handler(remote))
	t.Cleanup(srv.Close)
	f := &fixture{store: st, remote: remote, srv: srv, source: &StaticSource{}}
	f.loader = &Loader{Source: f.source, Store: st}
	return f
}

// addModel publishes model k with spec s and weights from seed on the
// remote server, and returns the weights blob's ref.
func (f *fixture) addModel(t *testing.T, k Key, s engine.Spec, seed uint64) blobstore.Ref {
	t.Helper()
	sb, err := s.Encode()
	if err != nil {
		t.Fatal(err)
	}
	sref, err := f.store.PutBytes(sb)
	if err != nil {
		t.Fatal(err)
	}
	w, err := engine.Init(s, seed)
	if err != nil {
		t.Fatal(err)
	}
	blob, err := federation.EncodeWeights(w)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := f.remote.PutBytes(blob)
	if err != nil {
		t.Fatal(err)
	}
	f.source.Put(VersionInfo{Key: k, SpecHash: sref.Hash[:], WeightsHash: ref.Hash[:], Size: uint64(ref.Size),
		Format: "safetensors", Locations: []string{f.srv.URL + "/v1/blobs/sha256/" + ref.Hex()}, Price: "10ucohort"})
	return ref
}

// inputs are rows deterministic example rows of width values.
func inputs(rows, width int, seed uint64) []float32 {
	g := engine.NewRNG(seed, 7)
	x := make([]float32, rows*width)
	for i := range x {
		x[i] = float32(g.Float32())
	}
	return x
}
