package federation

import (
	"bytes"
	"testing"

	"github.com/cohortchain/cohort/sidecar/aggregate"
	"github.com/cohortchain/cohort/sidecar/compress"
	"github.com/cohortchain/cohort/sidecar/tensor"
	"github.com/cohortchain/cohort/x/federated/types"
)

func topkSpec(f string) types.RunSpec {
	return types.RunSpec{Compression: types.Compression{Mode: types.COMPRESSION_MODE_TOPK, TopkFraction: f}}
}

func TestCompressWithErrorFeedback(t *testing.T) {
	global, subs := round(t, 2)
	dim := len(aggregate.Flatten(global))
	s := topkSpec("0.1")
	k, err := TopKOf(s, dim)
	if err != nil || k != (dim+9)/10 {
		t.Fatalf("k = %d, %v; want ⌈0.1·%d⌉", k, err, dim)
	}
	res := LocalResult{Update: subs[0].Update}
	sent, residual, err := Compress(s, res, nil)
	if err != nil {
		t.Fatal(err)
	}
	// What is sent plus what is kept is the update: nothing is lost.
	u, got := aggregate.Flatten(subs[0].Update), aggregate.Flatten(sent.Update)
	nonzero := 0
	for i := range u {
		if got[i]+residual[i] != u[i] {
			t.Fatalf("value %d: sent %v + kept %v != %v", i, got[i], residual[i], u[i])
		}
		if got[i] != 0 {
			nonzero++
		}
	}
	if nonzero > k {
		t.Fatalf("%d values sent, k = %d", nonzero, k)
	}
	// Validators read back exactly what was sent.
	back, err := DecodeUpdate(s, sent.Blob, global)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(mustEncode(t, back), mustEncode(t, sent.Update)) {
		t.Fatal("the decoded update differs from what was sent")
	}
	// The next round adds the residual first; the same inputs give the
	// same blob (the replay's guarantee).
	next1, r1, err := Compress(s, LocalResult{Update: subs[1].Update}, residual)
	if err != nil {
		t.Fatal(err)
	}
	next2, r2, _ := Compress(s, LocalResult{Update: subs[1].Update}, append([]float32{}, residual...))
	if !bytes.Equal(next1.Blob, next2.Blob) || len(r1) != len(r2) {
		t.Fatal("compression is not deterministic")
	}
	// A denser blob than the run allows is refused.
	dense := compress.TopK(u, k+1).Encode()
	if _, err := DecodeUpdate(s, dense, global); err == nil {
		t.Fatal("an update with more than k values was accepted")
	}
	// A run without compression is untouched.
	plain, kept, err := Compress(types.RunSpec{}, LocalResult{Update: subs[0].Update, Blob: []byte("x")}, nil)
	if err != nil || kept != nil || string(plain.Blob) != "x" {
		t.Fatal("a dense run's update was changed")
	}
}

func TestResidualsSurviveRestarts(t *testing.T) {
	dir := t.TempDir()
	r := NewResiduals(dir)
	if v, err := r.Get(7); err != nil || v != nil {
		t.Fatalf("fresh residual %v, %v", v, err)
	}
	if err := r.Set(7, []float32{1, -2.5, 0}); err != nil {
		t.Fatal(err)
	}
	v, err := NewResiduals(dir).Get(7)
	if err != nil || len(v) != 3 || v[1] != -2.5 {
		t.Fatalf("reloaded %v, %v", v, err)
	}
	var none *Residuals
	if err := none.Set(7, []float32{1}); err == nil {
		t.Fatal("a nil Residuals kept a residual")
	}
}

func mustEncode(t *testing.T, s tensor.Set) []byte {
	t.Helper()
	b, err := EncodeWeights(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
