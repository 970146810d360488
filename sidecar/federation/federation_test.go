package federation

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"math"
	"testing"

	"github.com/cohortchain/cohort/sidecar/aggregate"
	"github.com/cohortchain/cohort/sidecar/data"
	"github.com/cohortchain/cohort/sidecar/engine"
	"github.com/cohortchain/cohort/sidecar/tensor"
	"github.com/cohortchain/cohort/x/federated/types"
)

func testSpec() engine.Spec {
	return engine.Spec{Layers: []engine.LayerSpec{
		{Kind: engine.KindDense, Inputs: 8, Outputs: 6}, {Kind: engine.KindReLU}, {Kind: engine.KindDense, Inputs: 6, Outputs: 3},
	}}
}

// round trains n honest participants on shards of synthetic data and
// returns the global weights and their submissions.
func round(t *testing.T, n int) (tensor.Set, []Submitted) {
	t.Helper()
	spec := testSpec()
	global, err := engine.Init(spec, 1)
	if err != nil {
		t.Fatal(err)
	}
	d := data.Clusters(60*n, 8, 3, 2, 7)
	var subs []Submitted
	for i := 0; i < n; i++ {
		shard := engine.Dataset{Inputs: d.Inputs[i*60*8 : (i+1)*60*8], Labels: d.Labels[i*60 : (i+1)*60], Width: 8}
		res, err := LocalUpdate(spec, global, shard, LocalConfig{Steps: 5, BatchSize: 16, LearningRate: 0.05}, TrainingSeed([]byte("seed"), string(rune('a'+i))))
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.Sum256(res.Blob)
		subs = append(subs, Submitted{Hash: h[:], Update: res.Update, Samples: uint64(res.Samples)})
	}
	return global, subs
}

func TestLocalUpdateIsDeterministicAndSeeded(t *testing.T) {
	spec := testSpec()
	global, _ := engine.Init(spec, 1)
	d := data.Clusters(100, 8, 3, 2, 3)
	cfg := LocalConfig{Steps: 4, BatchSize: 10, LearningRate: 0.1}
	a, err := LocalUpdate(spec, global, d, cfg, 42)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := LocalUpdate(spec, global, d, cfg, 42)
	c, _ := LocalUpdate(spec, global, d, cfg, 43)
	if !bytes.Equal(a.Blob, b.Blob) || a.CheckpointRoot != b.CheckpointRoot {
		t.Fatal("the same seed gave different updates")
	}
	if bytes.Equal(a.Blob, c.Blob) {
		t.Fatal("another seed gave the same update")
	}
	if a.Samples != 100 || len(a.Losses) != 4 {
		t.Fatalf("samples %d, losses %d", a.Samples, len(a.Losses))
	}
	if _, err := LocalUpdate(spec, global, engine.Dataset{Width: 8}, cfg, 1); err == nil {
		t.Fatal("trained on no data")
	}
}

func TestTrainingSeedDependsOnRoundAndParticipant(t *testing.T) {
	s := TrainingSeed([]byte{1}, "a")
	if s == TrainingSeed([]byte{2}, "a") || s == TrainingSeed([]byte{1}, "b") || s != TrainingSeed([]byte{1}, "a") {
		t.Fatal("training seeds must differ per round and participant, and only then")
	}
}

func TestAggregateRejectsSignFlipOutliers(t *testing.T) {
	global, subs := round(t, 8)
	for _, i := range []int{6, 7} { // two attackers
		v := aggregate.SignFlip(aggregate.Flatten(subs[i].Update), 4)
		subs[i].Update, _ = aggregate.Unflatten(v, subs[i].Update)
	}
	rule := types.AggregationRule{Name: types.RuleGeometricMedian, MaxIterations: 10}
	o, err := Aggregate(rule, global, subs)
	if err != nil {
		t.Fatal(err)
	}
	if len(o.Accepted) != 6 || len(o.Rejected) != 2 {
		t.Fatalf("accepted %d, rejected %d; want 6 and 2", len(o.Accepted), len(o.Rejected))
	}
	for _, i := range []int{6, 7} {
		if _, ok := o.Reasons[string(subs[i].Hash)]; !ok {
			t.Fatalf("attacker %d was not rejected", i)
		}
	}
	// FedAvg accepts every valid update, outlier or not.
	o, err = Aggregate(types.AggregationRule{Name: types.RuleFedAvg}, global, subs)
	if err != nil || len(o.Accepted) != 8 {
		t.Fatalf("fedavg accepted %d (%v)", len(o.Accepted), err)
	}
	// Multi-Krum accepts exactly the ones it averages.
	o, err = Aggregate(types.AggregationRule{Name: types.RuleMultiKrum, Byzantine: 2, SelectCount: 4}, global, subs)
	if err != nil || len(o.Accepted) != 4 {
		t.Fatalf("multi-krum accepted %d (%v)", len(o.Accepted), err)
	}
}

func TestAggregateIsIndependentOfOrder(t *testing.T) {
	global, subs := round(t, 5)
	rule := types.AggregationRule{Name: types.RuleTrimmedMean, TrimFraction: "0.2"}
	a, err := Aggregate(rule, global, subs)
	if err != nil {
		t.Fatal(err)
	}
	rev := make([]Submitted, len(subs))
	for i := range subs {
		rev[i] = subs[len(subs)-1-i]
	}
	b, err := Aggregate(rule, global, rev)
	if err != nil {
		t.Fatal(err)
	}
	if a.WeightsHash != b.WeightsHash || !bytes.Equal(Result(1, 1, a, "http://x").ResultHash(), Result(1, 1, b, "http://y").ResultHash()) {
		t.Fatal("the order of the updates, or the location, changed the attested result")
	}
	if h := sha256.Sum256(a.Blob); h != a.WeightsHash {
		t.Fatal("weights hash is not the blob's sha256")
	}
}

func TestAggregateRejectsInvalidUpdates(t *testing.T) {
	global, subs := round(t, 4)
	wrong, _ := engine.Init(engine.Spec{Layers: []engine.LayerSpec{{Kind: engine.KindDense, Inputs: 8, Outputs: 2}}}, 1)
	subs = append(subs,
		Submitted{Hash: bytes.Repeat([]byte{1}, 32), Invalid: "blob does not match its commitment"},
		Submitted{Hash: bytes.Repeat([]byte{2}, 32), Update: wrong, Samples: 10},
		Submitted{Hash: bytes.Repeat([]byte{3}, 32), Update: subs[0].Update, Samples: 0},
	)
	o, err := Aggregate(types.AggregationRule{Name: types.RuleFedAvg}, global, subs)
	if err != nil {
		t.Fatal(err)
	}
	if len(o.Accepted) != 4 || len(o.Rejected) != 3 {
		t.Fatalf("accepted %d, rejected %d", len(o.Accepted), len(o.Rejected))
	}
	// The invalid ones do not move the aggregate.
	clean, _ := Aggregate(types.AggregationRule{Name: types.RuleFedAvg}, global, subs[:4])
	if clean.WeightsHash != o.WeightsHash {
		t.Fatal("an invalid update changed the aggregate")
	}
	_, err = Aggregate(types.AggregationRule{Name: types.RuleFedAvg}, global, subs[4:5])
	if !errors.Is(err, ErrNothingToAggregate) {
		t.Fatalf("got %v, want ErrNothingToAggregate", err)
	}
	if _, err := Aggregate(types.AggregationRule{Name: "mean-of-my-choice"}, global, subs); err == nil {
		t.Fatal("unknown rule accepted")
	}
}

func TestDecodeWeightsChecksShapesAndValues(t *testing.T) {
	global, _ := engine.Init(testSpec(), 1)
	blob, _ := EncodeWeights(global)
	if _, err := DecodeWeights(blob, global); err != nil {
		t.Fatal(err)
	}
	other, _ := engine.Init(engine.Spec{Layers: []engine.LayerSpec{{Kind: engine.KindDense, Inputs: 8, Outputs: 3}}}, 1)
	if _, err := DecodeWeights(blob, other); err == nil {
		t.Fatal("decoded weights of another model")
	}
	for _, name := range global.Names() {
		global[name].Data[0] = float32(math.NaN())
		break
	}
	bad, _ := EncodeWeights(global)
	if _, err := DecodeWeights(bad, global); err == nil {
		t.Fatal("decoded NaN weights")
	}
	if _, err := DecodeWeights(blob[:len(blob)-1], global); err == nil {
		t.Fatal("decoded a truncated blob")
	}
}

func TestCheckpointRoot(t *testing.T) {
	leaf := func(b byte) [32]byte { return [32]byte{b} }
	l := func(b byte) [32]byte { x := leaf(b); return sha256.Sum256(append([]byte{0}, x[:]...)) }
	if CheckpointRoot([][32]byte{leaf(1)}) != l(1) {
		t.Fatal("the root of one checkpoint must be its leaf hash")
	}
	three := CheckpointRoot([][32]byte{leaf(1), leaf(2), leaf(3)})
	node := func(a, b [32]byte) [32]byte { return sha256.Sum256(append(append([]byte{1}, a[:]...), b[:]...)) }
	if want := node(node(l(1), l(2)), l(3)); three != want {
		t.Fatal("root of three checkpoints is not ((1,2),3)")
	}
	if CheckpointRoot([][32]byte{leaf(2), leaf(1), leaf(3)}) == three {
		t.Fatal("the root must commit to the order")
	}
	if CheckpointRoot(nil) != sha256.Sum256(nil) {
		t.Fatal("empty root")
	}
}

func TestLocalConfigOf(t *testing.T) {
	c, err := LocalConfigOf(types.RunSpec{LocalSteps: 20, BatchSize: 64, LearningRate: "0.050000000000000000"})
	if err != nil || c.Steps != 20 || c.BatchSize != 64 || c.LearningRate != float32(0.05) {
		t.Fatalf("%+v %v", c, err)
	}
	for _, s := range []types.RunSpec{{LocalSteps: 0, BatchSize: 1, LearningRate: "0.1"}, {LocalSteps: 1, BatchSize: 1, LearningRate: "x"}, {LocalSteps: 1, BatchSize: 1, LearningRate: "-1"}} {
		if _, err := LocalConfigOf(s); err == nil {
			t.Fatalf("accepted %+v", s)
		}
	}
}
