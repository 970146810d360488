package daemon

import (
	"crypto/sha256"
	"fmt"
	"strings"
	"testing"

	"github.com/cohortchain/cohort/sidecar/blobstore"
	"github.com/cohortchain/cohort/sidecar/data"
	"github.com/cohortchain/cohort/sidecar/engine"
	"github.com/cohortchain/cohort/sidecar/federation"
	fedtypes "github.com/cohortchain/cohort/x/federated/types"
)

// A client-dp round is replayed from the committed blobs: the aggregate
// must equal the validators', the training must match the checkpoint
// roots, and a blob that does not match its commitment is rejected as
// validators reject it.
func TestReplayClientDPRound(t *testing.T) {
	spec := engine.Spec{Layers: []engine.LayerSpec{{Kind: engine.KindDense, Inputs: 8, Outputs: 6}, {Kind: engine.KindReLU}, {Kind: engine.KindDense, Inputs: 6, Outputs: 3}}}
	global, err := engine.Init(spec, 1)
	if err != nil {
		t.Fatal(err)
	}
	run := fedtypes.Run{Id: 1, Spec: fedtypes.RunSpec{LocalSteps: 3, BatchSize: 16, LearningRate: "0.05",
		Aggregation: fedtypes.AggregationRule{Name: fedtypes.RuleFedAvg},
		Privacy:     fedtypes.Privacy{Mode: fedtypes.PRIVACY_MODE_CLIENT_DP, Epsilon: "50", Delta: "0.00001", ClipNorm: "0.5", NoiseMultiplier: "1"}}}
	dp, _, err := federation.DPParamsOf(run.Spec.Privacy)
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := federation.LocalConfigOf(run.Spec)
	round := fedtypes.Round{RunId: 1, Number: 1, Seed: []byte("round seed")}
	d := data.Clusters(240, 8, 3, 2, 7)
	parts := map[string]Participant{}
	blobs := map[string][]byte{}
	var updates []fedtypes.Update
	var subs []federation.Submitted
	for i := 0; i < 4; i++ {
		addr := fmt.Sprintf("provider%d", i)
		shard := engine.Dataset{Inputs: d.Inputs[i*60*8 : (i+1)*60*8], Labels: d.Labels[i*60 : (i+1)*60], Width: 8}
		parts[addr] = Participant{Data: shard}
		res, err := federation.LocalUpdate(spec, global, shard, cfg, federation.TrainingSeed(round.Seed, addr))
		if err != nil {
			t.Fatal(err)
		}
		if res, err = federation.PrivatizeUpdate(res, dp); err != nil {
			t.Fatal(err)
		}
		h := sha256.Sum256(res.Blob)
		blobs[string(h[:])] = res.Blob
		updates = append(updates, fedtypes.Update{RunId: 1, Round: 1, Participant: addr, Hash: h[:], Size_: uint64(len(res.Blob)),
			SampleCount: uint64(res.Samples), CheckpointRoot: res.CheckpointRoot[:]})
		subs = append(subs, federation.Submitted{Hash: h[:], Update: res.Update, Samples: uint64(res.Samples)})
	}
	// The validators' aggregate, which the chain records; update 3's
	// server does not serve what it committed to.
	subs[3] = federation.Submitted{Hash: subs[3].Hash, Samples: subs[3].Samples, Invalid: "blob does not match its commitment"}
	o, err := federation.AggregateRun(run.Spec, global, subs)
	if err != nil {
		t.Fatal(err)
	}
	round.NewWeightsHash = o.WeightsHash[:]
	fetch := func(u fedtypes.Update) ([]byte, error) {
		if u.Participant == "provider3" {
			return nil, fmt.Errorf("%w: served bytes differ", blobstore.ErrCorrupt)
		}
		b, ok := blobs[string(u.Hash)]
		if !ok {
			return nil, blobstore.ErrNotFound
		}
		return b, nil
	}
	rep, err := ReplayRound(spec, global, run, round, updates, parts, fetch)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Private || rep.Outcome.WeightsHash != o.WeightsHash || len(rep.Outcome.Accepted) != 3 || len(rep.Outcome.Rejected) != 1 {
		t.Fatalf("private %v, accepted %d, rejected %d", rep.Private, len(rep.Outcome.Accepted), len(rep.Outcome.Rejected))
	}
	// Without the participants' data only the aggregate is checked.
	if _, err := ReplayRound(spec, global, run, round, updates, nil, fetch); err != nil {
		t.Fatal(err)
	}
	// A checkpoint root the training does not give is caught.
	bad := append([]fedtypes.Update(nil), updates...)
	bad[0].CheckpointRoot = make([]byte, 32)
	if _, err := ReplayRound(spec, global, run, round, bad, parts, fetch); err == nil || !strings.Contains(err.Error(), "checkpoint root") {
		t.Fatalf("got %v, want a checkpoint root mismatch", err)
	}
	// Another aggregate on-chain is a mismatch; an unavailable blob stops
	// the replay.
	other := round
	other.NewWeightsHash = make([]byte, 32)
	if _, err := ReplayRound(spec, global, run, other, updates, parts, fetch); err == nil {
		t.Fatal("a different on-chain aggregate was not reported")
	}
	gone := func(u fedtypes.Update) ([]byte, error) { return nil, blobstore.ErrUnavailable }
	if _, err := ReplayRound(spec, global, run, round, updates, nil, gone); err == nil {
		t.Fatal("replayed without the blobs")
	}
}
