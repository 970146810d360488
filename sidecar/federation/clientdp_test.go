package federation

import (
	"bytes"
	"crypto/sha256"
	"math"
	mrand "math/rand/v2"
	"strings"
	"testing"

	"github.com/cohortchain/cohort/sidecar/aggregate"
	"github.com/cohortchain/cohort/sidecar/privacy"
	"github.com/cohortchain/cohort/sidecar/tensor"
	"github.com/cohortchain/cohort/x/federated/types"
)

func dpSpec(clip, sigma string) types.RunSpec {
	return types.RunSpec{Aggregation: types.AggregationRule{Name: types.RuleFedAvg},
		Privacy: types.Privacy{Mode: types.PRIVACY_MODE_CLIENT_DP, Epsilon: "50", Delta: "0.00001", ClipNorm: clip, NoiseMultiplier: sigma}}
}

// cloneSet is a deep copy of s.
func cloneSet(s tensor.Set) tensor.Set {
	out := tensor.Set{}
	for name, t := range s {
		out[name] = tensor.Tensor{Shape: append([]int(nil), t.Shape...), Data: append([]float32(nil), t.Data...)}
	}
	return out
}

// privatized trains n participants (round) and privatizes their updates
// with p, returning the global weights and the submissions as validators
// decode them from the blobs.
func privatized(t *testing.T, n int, p DPParams) (tensor.Set, []Submitted) {
	t.Helper()
	global, subs := round(t, n)
	for i := range subs {
		res, err := PrivatizeUpdate(LocalResult{Update: subs[i].Update, Samples: int(subs[i].Samples)}, p)
		if err != nil {
			t.Fatal(err)
		}
		u, err := DecodeWeights(res.Blob, global)
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.Sum256(res.Blob)
		subs[i] = Submitted{Hash: h[:], Update: u, Samples: subs[i].Samples}
	}
	return global, subs
}

func TestDPParamsOf(t *testing.T) {
	p, ok, err := DPParamsOf(dpSpec("1.5", "0.8").Privacy)
	if err != nil || !ok || p.Clip != 1.5 || p.NoiseMultiplier != 0.8 || math.Abs(p.NoiseStd()-1.2) > 1e-12 {
		t.Fatalf("%+v %v %v", p, ok, err)
	}
	if _, ok, err := DPParamsOf(types.Privacy{}); ok || err != nil {
		t.Fatal("mode none read as client-dp")
	}
	for _, bad := range [][2]string{{"0", "1"}, {"1", "0"}, {"x", "1"}, {"1", "-1"}} {
		if _, _, err := DPParamsOf(dpSpec(bad[0], bad[1]).Privacy); err == nil {
			t.Fatalf("accepted clip %s, sigma %s", bad[0], bad[1])
		}
	}
}

// The clipped part of a privatized update is within the bound: the noise
// drawn again from the same generator and subtracted leaves a vector of
// norm at most C.
func TestPrivatizeClipsBeforeNoise(t *testing.T) {
	const d = 4096
	u := tensor.Set{"a": {Shape: []int{d / 2}, Data: make([]float32, d/2)}, "b": {Shape: []int{d / 2}, Data: make([]float32, d/2)}}
	for i := range u["a"].Data {
		u["a"].Data[i], u["b"].Data[i] = float32(i%7)-3, float32(i%5)
	}
	if n, _ := privacy.Norm(u); n < 100 {
		t.Fatalf("test update too short: %v", n)
	}
	p := DPParams{Clip: 2, NoiseMultiplier: 0.5}
	res, err := privatize(LocalResult{Update: cloneSet(u)}, p, mrand.New(mrand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	g := mrand.New(mrand.NewPCG(1, 2))
	sum := 0.0
	for _, name := range res.Update.Names() { // the noise's order
		for _, x := range res.Update[name].Data {
			c := float64(x) - p.NoiseStd()*g.NormFloat64()
			sum += c * c
		}
	}
	// float32 rounding of the noised values adds at most ~1e-7 per value.
	if n := math.Sqrt(sum); n > p.Clip+1e-3 || n < p.Clip*0.99 {
		t.Fatalf("clipped part has norm %v, want ≈ %v (a long update is clipped to the bound)", n, p.Clip)
	}
	if blob, _ := EncodeWeights(res.Update); !bytes.Equal(blob, res.Blob) {
		t.Fatal("the blob is not the privatized update")
	}
}

// Over many coordinates the noise of a zero update has mean 0 and
// standard deviation σC; two calls draw different noise.
func TestPrivatizeNoiseIsGaussianAndPrivate(t *testing.T) {
	const d = 200000
	p := DPParams{Clip: 0.5, NoiseMultiplier: 1.3}
	zero := func() LocalResult {
		return LocalResult{Update: tensor.Set{"w": {Shape: []int{d}, Data: make([]float32, d)}}, CheckpointRoot: [32]byte{7}, Samples: 3}
	}
	a, err := PrivatizeUpdate(zero(), p)
	if err != nil {
		t.Fatal(err)
	}
	b, err := PrivatizeUpdate(zero(), p)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(a.Blob, b.Blob) {
		t.Fatal("two calls gave the same noise")
	}
	if a.CheckpointRoot != [32]byte{7} || a.Samples != 3 {
		t.Fatal("privatizing changed the training's checkpoint root or sample count")
	}
	var s, s2 float64
	for _, x := range a.Update["w"].Data {
		s += float64(x)
		s2 += float64(x) * float64(x)
	}
	mean, std := s/d, math.Sqrt(s2/d-(s/d)*(s/d))
	want := p.NoiseStd()
	// Standard errors: mean σ/√d ≈ 0.0015, std σ/√(2d) ≈ 0.001.
	if math.Abs(mean) > 6*want/math.Sqrt(d) || math.Abs(std-want) > 6*want/math.Sqrt(2*d) {
		t.Fatalf("noise mean %v, std %v; want 0 and %v", mean, std, want)
	}
	// The two draws are uncorrelated.
	var c float64
	for i, x := range a.Update["w"].Data {
		c += float64(x) * float64(b.Update["w"].Data[i])
	}
	if r := c / d / (want * want); math.Abs(r) > 6/math.Sqrt(d) {
		t.Fatalf("two draws correlate: %v", r)
	}
}

func TestClientDPAggregateIsDeterministicAndUnweighted(t *testing.T) {
	spec := dpSpec("0.5", "1")
	p, _, _ := DPParamsOf(spec.Privacy)
	global, subs := privatized(t, 5, p)
	subs[0].Samples, subs[1].Samples = 1, 100000 // sample counts must not matter
	a, err := AggregateRun(spec, global, subs)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Accepted) != 5 || len(a.Rejected) != 0 {
		t.Fatalf("accepted %d, rejected %d (%v)", len(a.Accepted), len(a.Rejected), a.Reasons)
	}
	rev := make([]Submitted, len(subs))
	for i := range subs {
		rev[len(subs)-1-i] = subs[i]
		rev[len(subs)-1-i].Samples = uint64(i + 1)
	}
	b, err := AggregateRun(spec, global, rev)
	if err != nil {
		t.Fatal(err)
	}
	if a.WeightsHash != b.WeightsHash || !bytes.Equal(Result(1, 1, a, "x").ResultHash(), Result(1, 1, b, "y").ResultHash()) {
		t.Fatal("order or sample counts changed the client-dp aggregate")
	}
	// It is global + the plain mean of the updates (in hash order).
	flat := aggregate.Flatten(global)
	got := aggregate.Flatten(a.Weights)
	for i := range flat {
		var m float64
		for _, s := range subs {
			m += float64(aggregate.Flatten(s.Update)[i])
		}
		m /= float64(len(subs))
		if math.Abs(float64(got[i]-flat[i])-m) > 1e-5*(1+math.Abs(m)) {
			t.Fatalf("coordinate %d: aggregate moved by %v, the mean is %v", i, got[i]-flat[i], m)
		}
	}
	// A sample-weighted FedAvg of the same updates differs.
	w, err := Aggregate(spec.Aggregation, global, subs)
	if err != nil || w.WeightsHash == a.WeightsHash {
		t.Fatalf("client-dp aggregate equals the sample-weighted one (%v)", err)
	}
}

func TestClientDPRejectsBoostedAndInvalidUpdates(t *testing.T) {
	spec := dpSpec("0.5", "1")
	p, _, _ := DPParamsOf(spec.Privacy)
	global, subs := privatized(t, 6, p)
	d := numParams(global)
	for _, s := range subs {
		if n, _ := privacy.Norm(s.Update); n > p.NormBound(d) {
			t.Fatalf("an honest update's norm %v exceeds the bound %v", n, p.NormBound(d))
		}
	}
	// Provider 4 boosts its update ×3 (a model-replacement attempt);
	// provider 5 sends an un-noised update 100 times the clip norm.
	boost := aggregate.Flatten(subs[4].Update)
	for i := range boost {
		boost[i] *= 3
	}
	subs[4].Update, _ = aggregate.Unflatten(boost, global)
	big := make([]float32, d)
	big[0] = float32(100 * p.Clip * (math.Sqrt(float64(d)) + 6))
	subs[5].Update, _ = aggregate.Unflatten(big, global)
	nan := cloneSet(subs[0].Update)
	nan[nan.Names()[0]].Data[0] = float32(math.NaN())
	subs = append(subs, Submitted{Hash: bytes.Repeat([]byte{9}, 32), Update: nan, Samples: 5},
		Submitted{Hash: bytes.Repeat([]byte{8}, 32), Invalid: "blob does not match its commitment"})
	o, err := AggregateRun(spec, global, subs)
	if err != nil {
		t.Fatal(err)
	}
	if len(o.Accepted) != 4 || len(o.Rejected) != 4 {
		t.Fatalf("accepted %d, rejected %d: %v", len(o.Accepted), len(o.Rejected), o.Reasons)
	}
	for _, i := range []int{4, 5} {
		if why := o.Reasons[string(subs[i].Hash)]; !strings.Contains(why, "client-dp bound") {
			t.Fatalf("update %d: reason %q", i, why)
		}
	}
	clean, err := AggregateRun(spec, global, subs[:4])
	if err != nil || clean.WeightsHash != o.WeightsHash {
		t.Fatalf("rejected updates moved the aggregate (%v)", err)
	}
	// Client-dp aggregates with fedavg only; secure aggregation is not
	// aggregated here.
	robust := spec
	robust.Aggregation = types.AggregationRule{Name: types.RuleMedian}
	if _, err := AggregateRun(robust, global, subs); err == nil {
		t.Fatal("client-dp aggregated with the median")
	}
	sec := types.RunSpec{Aggregation: spec.Aggregation, Privacy: types.Privacy{Mode: types.PRIVACY_MODE_SECURE_AGGREGATION}}
	if _, err := AggregateRun(sec, global, subs); err == nil {
		t.Fatal("secure aggregation aggregated as plain fedavg")
	}
	// Without privacy, AggregateRun is Aggregate.
	none := types.RunSpec{Aggregation: spec.Aggregation}
	x, err1 := AggregateRun(none, global, subs[:4])
	y, err2 := Aggregate(none.Aggregation, global, subs[:4])
	if err1 != nil || err2 != nil || x.WeightsHash != y.WeightsHash {
		t.Fatal("AggregateRun without privacy differs from Aggregate")
	}
}
