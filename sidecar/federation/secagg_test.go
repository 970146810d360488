package federation

import (
	"bytes"
	"math"
	"testing"

	"github.com/cohortchain/cohort/sidecar/aggregate"
	"github.com/cohortchain/cohort/sidecar/secagg"
	"github.com/cohortchain/cohort/x/federated/types"
)

// secAggRound runs the four steps for the submissions of round(t, 4): all
// four advertise and share keys, participant 4 drops before sending its
// masked input, and the three survivors unmask.
func secAggRound(t *testing.T) (types.Round, SecAggRound, []Submitted) {
	t.Helper()
	global, subs := round(t, 4)
	n := len(aggregate.Flatten(global))
	r := types.Round{RunId: 7, Number: 2, Attempt: 0, Seed: []byte("round seed"),
		Selected: []string{"a", "b", "c", "d"}, SecaggThreshold: types.SecAggThreshold(4)}
	p := SecAggParams(r, n)
	clients := make([]*secagg.Client, 4)
	var out SecAggRound
	for i := range clients {
		id, err := SecAggID(r, r.Selected[i])
		if err != nil {
			t.Fatal(err)
		}
		if clients[i], err = secagg.NewClient(p, id, nil); err != nil {
			t.Fatal(err)
		}
		ad, err := clients[i].AdvertiseKeys()
		if err != nil {
			t.Fatal(err)
		}
		out.Keys = append(out.Keys, ad)
	}
	for _, c := range clients {
		sk, err := c.ShareKeys(out.Keys)
		if err != nil {
			t.Fatal(err)
		}
		out.Shares = append(out.Shares, sk)
	}
	req := &secagg.UnmaskRequest{Session: p.Session}
	for i, c := range clients[:3] {
		x, err := SecAggInput(subs[i].Update, int(subs[i].Samples))
		if err != nil {
			t.Fatal(err)
		}
		m, err := c.MaskedInput(out.Shares, x)
		if err != nil {
			t.Fatal(err)
		}
		out.Masked = append(out.Masked, MaskedUpdate{Hash: subs[i].Hash, Samples: subs[i].Samples, Input: m})
		req.Survivors = append(req.Survivors, c.ID())
	}
	for _, c := range clients[:3] {
		a, err := c.Unmask(req)
		if err != nil {
			t.Fatal(err)
		}
		out.Answers = append(out.Answers, a)
	}
	return r, out, subs
}

func TestSecAggRoundEqualsFedAvgOfSurvivors(t *testing.T) {
	global, _ := round(t, 4)
	r, msgs, subs := secAggRound(t)
	got, err := AggregateSecAgg(global, r, msgs)
	if err != nil {
		t.Fatal(err)
	}
	want, err := Aggregate(types.AggregationRule{Name: types.RuleFedAvg}, global, subs[:3])
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Accepted) != 3 || len(got.Rejected) != 0 {
		t.Fatalf("accepted %d, rejected %d; want the 3 survivors", len(got.Accepted), len(got.Rejected))
	}
	for i := range got.Accepted {
		if !bytes.Equal(got.Accepted[i], want.Accepted[i]) {
			t.Fatal("accepted updates differ from FedAvg's")
		}
	}
	g, w := aggregate.Flatten(got.Weights), aggregate.Flatten(want.Weights)
	var worst float64
	for i := range g {
		worst = max(worst, math.Abs(float64(g[i]-w[i])))
	}
	if worst > 1e-6 {
		t.Fatalf("secure aggregate differs from FedAvg by %g", worst)
	}
	// Every validator gets the same bits, whatever the order of messages.
	rev := msgs
	rev.Masked = []MaskedUpdate{msgs.Masked[2], msgs.Masked[0], msgs.Masked[1]}
	rev.Answers = []*secagg.UnmaskShares{msgs.Answers[1], msgs.Answers[2], msgs.Answers[0]}
	again, err := AggregateSecAgg(global, r, rev)
	if err != nil {
		t.Fatal(err)
	}
	if again.WeightsHash != got.WeightsHash {
		t.Fatal("the aggregate depends on the order of the messages")
	}
}

func TestSecAggRoundFailsOnWrongSessionOrMissingShares(t *testing.T) {
	global, _ := round(t, 4)
	r, msgs, _ := secAggRound(t)
	other := r
	other.Attempt = 1
	if _, err := AggregateSecAgg(global, other, msgs); err == nil {
		t.Fatal("messages of another session were aggregated")
	}
	short := msgs
	short.Answers = msgs.Answers[:2]
	if _, err := AggregateSecAgg(global, r, short); err == nil {
		t.Fatal("aggregated with fewer unmasking answers than the threshold")
	}
}

func TestSecAggIDAndSender(t *testing.T) {
	r := types.Round{Selected: []string{"a", "b"}}
	if id, err := SecAggID(r, "b"); err != nil || id != 2 {
		t.Fatalf("id %d, %v", id, err)
	}
	if _, err := SecAggID(r, "z"); err == nil {
		t.Fatal("an unselected participant got an id")
	}
	if err := CheckSender(r, "a", 1); err != nil {
		t.Fatal(err)
	}
	if err := CheckSender(r, "a", 2); err == nil {
		t.Fatal("a participant spoke for another")
	}
	if _, err := SecAggInput(nil, 0); err == nil {
		t.Fatal("no samples accepted")
	}
}
