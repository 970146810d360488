package gateway

import (
	"context"
	"errors"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/cohortchain/cohort/sidecar/blobstore"
	"github.com/cohortchain/cohort/sidecar/engine"
	"github.com/cohortchain/cohort/sidecar/federation"
	"github.com/cohortchain/cohort/sidecar/serve"
)

var testKey = serve.Key{Model: 1, Version: 1}

const testWidth = 32

// testModel builds a model version's spec and weights in a store, and the
// source that describes it.
func testModel(t *testing.T) (*blobstore.Store, *serve.StaticSource, *serve.Model) {
	t.Helper()
	st, err := blobstore.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	spec := engine.Spec{Layers: []engine.LayerSpec{{Kind: engine.KindDense, Inputs: testWidth, Outputs: 16}, {Kind: engine.KindReLU},
		{Kind: engine.KindDense, Inputs: 16, Outputs: 4}}}
	sb, _ := spec.Encode()
	sref, _ := st.PutBytes(sb)
	w, _ := engine.Init(spec, 3)
	blob, _ := federation.EncodeWeights(w)
	wref, err := st.PutBytes(blob)
	if err != nil {
		t.Fatal(err)
	}
	src := &serve.StaticSource{}
	src.Put(serve.VersionInfo{Key: testKey, SpecHash: sref.Hash[:], WeightsHash: wref.Hash[:], Size: uint64(wref.Size), Format: "safetensors"})
	m, err := (&serve.Loader{Source: src, Store: st}).Load(context.Background(), testKey)
	if err != nil {
		t.Fatal(err)
	}
	return st, src, m
}

// testProvider is a provider's server on a loopback port.
type testProvider struct {
	URL    string
	Server *serve.Server
	http   *http.Server
}

// kill stops the provider at once: listener and open connections closed.
func (p *testProvider) kill() { p.http.Close() }

func startProvider(t *testing.T, st *blobstore.Store, src *serve.StaticSource, corrupt func([]float32), tokens ...string) *testProvider {
	t.Helper()
	s, err := serve.NewServer(serve.Config{Models: []serve.Key{testKey}, Loader: &serve.Loader{Source: src, Store: st},
		Signer: serve.NewEd25519Signer(), Corrupt: corrupt, Tokens: tokens, BatchWindow: 50 * time.Microsecond})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: s.Handler()}
	go func() {
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Log(err)
		}
	}()
	p := &testProvider{URL: "http://" + ln.Addr().String(), Server: s, http: hs}
	t.Cleanup(func() { hs.Close(); s.Close() })
	return p
}

// fakeClock is a settable clock.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func testInputs(rows int, seed uint64) []float32 {
	g := engine.NewRNG(seed, 11)
	x := make([]float32, rows*testWidth)
	for i := range x {
		x[i] = float32(g.Float32())
	}
	return x
}
