package main

import (
	"encoding/binary"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/cohortchain/cohort/sidecar/engine"
	"github.com/cohortchain/cohort/sidecar/federation"
	"github.com/cohortchain/cohort/sidecar/privacy"
	"github.com/cohortchain/cohort/sidecar/tensor"
	"github.com/cohortchain/cohort/x/federated/types"
)

// TestMeasureClientDP compares the test accuracy of a client-dp run with a
// non-private run of the same seeds, in-process, with the functions the
// providers and validators run (federation.LocalUpdate,
// PrivatizeUpdate, AggregateRun). It is a measurement, not a check, and
// runs only with COHORT_DP_MEASURE=1; the demo's settings are the
// defaults, and DATA, PROVIDERS, ROUNDS, HIDDEN, DP_CLIPS and DP_NOISES (comma
// lists) change them:
//
//	COHORT_DP_MEASURE=1 go test ./cmd/cohort-sidecar -run MeasureClientDP -v -timeout 1h
func TestMeasureClientDP(t *testing.T) {
	if os.Getenv("COHORT_DP_MEASURE") == "" {
		t.Skip("a measurement: set COHORT_DP_MEASURE=1")
	}
	env := func(k, def string) string {
		if v := os.Getenv(k); v != "" {
			return v
		}
		return def
	}
	floats := func(k, def string) []float64 {
		var out []float64
		for _, s := range strings.Split(env(k, def), ",") {
			f, err := strconv.ParseFloat(s, 64)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, f)
		}
		return out
	}
	providers, _ := strconv.Atoi(env("PROVIDERS", "10"))
	rounds, _ := strconv.Atoi(env("ROUNDS", "30"))
	df := shardFlags{src: env("DATA", "fashion-mnist"), dir: DefaultDataDir, shards: providers, alpha: 0.5, partitionSeed: 1, synthetic: 2000, syntheticSeed: 1}
	train, test, err := df.load()
	if err != nil {
		t.Fatal(err)
	}
	shards, err := df.split(train)
	if err != nil {
		t.Fatal(err)
	}
	hidden, _ := strconv.Atoi(env("HIDDEN", "128"))
	spec := mlpSpec(train.Width, hidden)
	cfg := federation.LocalConfig{Steps: 20, BatchSize: 64, LearningRate: 0.05}
	init, err := engine.Init(spec, 1)
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, providers)
	for k := range names {
		names[k] = "provider" + strconv.Itoa(k)
	}
	roundSeed := func(r int) []byte { return binary.BigEndian.AppendUint64([]byte("measure"), uint64(r)) }

	// run trains rounds rounds from init under spec and returns the test
	// accuracy after each, and the median norm of the raw updates.
	run := func(rs types.RunSpec) ([]float64, []float64) {
		dp, isDP, err := federation.DPParamsOf(rs.Privacy)
		if err != nil {
			t.Fatal(err)
		}
		global := init
		var accs, norms []float64
		for r := 1; r <= rounds; r++ {
			var subs []federation.Submitted
			var ns []float64
			for k, shard := range shards {
				res, err := federation.LocalUpdate(spec, global, shard, cfg, federation.TrainingSeed(roundSeed(r), names[k]))
				if err != nil {
					t.Fatal(err)
				}
				n, _ := privacy.Norm(res.Update)
				ns = append(ns, n)
				if isDP {
					if res, err = federation.PrivatizeUpdate(res, dp); err != nil {
						t.Fatal(err)
					}
				}
				h := tensorHash(t, res.Update)
				subs = append(subs, federation.Submitted{Hash: h[:], Update: res.Update, Samples: uint64(res.Samples)})
			}
			o, err := federation.AggregateRun(rs, global, subs)
			if err != nil {
				t.Fatal(err)
			}
			if len(o.Rejected) > 0 {
				t.Logf("round %d: %d rejected: %v", r, len(o.Rejected), o.Reasons)
			}
			global = o.Weights
			acc, err := engine.Accuracy(spec, global, test)
			if err != nil {
				t.Fatal(err)
			}
			slices.Sort(ns)
			accs, norms = append(accs, acc), append(norms, ns[len(ns)/2])
		}
		return accs, norms
	}
	report := func(label string, accs, norms []float64) {
		var b strings.Builder
		for i, a := range accs {
			if i%5 == 4 || i == 0 || i == len(accs)-1 {
				b.WriteString(strconv.Itoa(i+1) + ":" + strconv.FormatFloat(100*a, 'f', 2, 64) + "% ")
			}
		}
		t.Logf("%-34s acc by round %s| median raw update norm r1 %.3f, r%d %.3f", label, b.String(), norms[0], len(norms), norms[len(norms)-1])
	}
	fedavg := types.AggregationRule{Name: types.RuleFedAvg}
	accs, norms := run(types.RunSpec{Aggregation: fedavg})
	report("non-private fedavg", accs, norms)
	for _, c := range floats("DP_CLIPS", "1") {
		for _, s := range floats("DP_NOISES", "1") {
			p := types.Privacy{Mode: types.PRIVACY_MODE_CLIENT_DP, Epsilon: "100", Delta: "0.00001",
				ClipNorm: strconv.FormatFloat(c, 'f', -1, 64), NoiseMultiplier: strconv.FormatFloat(s, 'f', -1, 64)}
			eps, err := p.EpsilonAfterRounds(uint32(rounds))
			if err != nil {
				t.Fatal(err)
			}
			accs, norms := run(types.RunSpec{Aggregation: fedavg, Privacy: p})
			report("client-dp C="+p.ClipNorm+" σ="+p.NoiseMultiplier+" ε="+eps.String()[:6], accs, norms)
		}
	}
}

func tensorHash(t *testing.T, s tensor.Set) [32]byte {
	h, err := s.Hash()
	if err != nil {
		t.Fatal(err)
	}
	return h
}
