package daemon

import (
	"context"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cohortchain/cohort/sidecar/engine"
	"github.com/cohortchain/cohort/sidecar/serve"
	verifytypes "github.com/cohortchain/cohort/x/verify/types"
)

// TestReexecuteClaim: a validator re-runs the sampled requests of a usage
// claim from the provider's evidence. An honest claim passes; a claim with
// one wrong output fails at that receipt when it is sampled (and passes
// when it is not: that is what sampling costs); receipts of another
// client fail; evidence that is not the provider's commitment, or not
// served after the grace, is UNAVAILABLE.
func TestReexecuteClaim(t *testing.T) {
	d := testDaemon(t, Config{UnavailableGrace: 50 * time.Millisecond, FetchTimeout: 5 * time.Second})
	spec, w := serveTestModel(t, d, "client-a")
	signer := serve.NewSecp256k1Signer()
	ev, err := serve.OpenEvidence(t.TempDir())
	require.NoError(t, err)
	t.Cleanup(func() { ev.Close() })
	mux := http.NewServeMux()
	mux.Handle("GET "+serve.EvidencePath, ev)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	// claim serves ten requests of job for client, output wrong at index
	// lie (-1: none), and commits them.
	claim := func(job uint64, client string, lie int) serve.Commitment {
		for i := range 10 {
			rows := 1 + i%2
			x := make([]float32, 6*rows)
			for j := range x {
				x[j] = float32(i*7+j) / 10
			}
			out, err := engine.Forward(spec, w, x, rows)
			require.NoError(t, err)
			if i == lie {
				out[0]++
			}
			in, o := serve.HashFloats(x), serve.HashFloats(out)
			rc := serve.Receipt{Version: serve.ReceiptVersion, Provider: signer.Address(), Algo: signer.Algo(), PubKey: signer.PubKey(),
				Client: client, Seq: uint64(i + 1), ModelID: 1, Number: 1, RequestID: fmt.Sprintf("r%d", i),
				InputHash: hex.EncodeToString(in[:]), OutputHash: hex.EncodeToString(o[:]), Units: uint64(rows), TimeUnixMs: 1, JobID: job}
			rc.Signature, err = signer.Sign(rc.SignBytes())
			require.NoError(t, err)
			require.NoError(t, ev.Record(rc, x))
		}
		c, ok, err := ev.Commit(job)
		require.NoError(t, err)
		require.True(t, ok)
		require.EqualValues(t, 10, c.Count)
		require.NoError(t, ev.Sent(c, job))
		return c
	}
	task := func(id uint64, c serve.Commitment, provider string, sampled ...uint64) verifytypes.Task {
		return verifytypes.Task{Id: id, SampledSteps: sampled, Work: verifytypes.Work{Kind: verifytypes.WORK_KIND_INFERENCE_CLAIM,
			JobId: c.JobID, Provider: provider, CheckpointRoot: c.Root[:], TotalSteps: c.Count, Location: srv.URL}}
	}
	verdict := func(tk verifytypes.Task) verifytypes.Verdict {
		t.Helper()
		v, _, err := d.reexecuteClaim(context.Background(), tk)
		require.NoError(t, err)
		return v
	}
	me := signer.Address()
	honest, liar, foreign := claim(1, "client-a", -1), claim(2, "client-a", 6), claim(3, "client-b", -1)

	require.Equal(t, verifytypes.OUTCOME_PASS, verdict(task(1, honest, me, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9)).Outcome, "every request honest")
	v := verdict(task(2, liar, me, 2, 6, 9))
	require.Equal(t, verifytypes.OUTCOME_FAIL, v.Outcome, "the wrong output is sampled")
	require.EqualValues(t, 6, v.FirstDivergentStep)
	require.Equal(t, verifytypes.OUTCOME_PASS, verdict(task(3, liar, me, 1, 3)).Outcome, "the wrong output is not sampled")
	require.Equal(t, verifytypes.OUTCOME_FAIL, verdict(task(4, foreign, me, 0)).Outcome, "a request of another client")
	require.Equal(t, verifytypes.OUTCOME_UNAVAILABLE, verdict(task(5, honest, serve.NewSecp256k1Signer().Address(), 0)).Outcome,
		"receipts another key signed are not this provider's commitment")
	wrongCount := task(6, honest, me, 0)
	wrongCount.Work.TotalSteps = 11
	require.Equal(t, verifytypes.OUTCOME_UNAVAILABLE, verdict(wrongCount).Outcome, "a commitment of another count")

	gone := task(7, serve.Commitment{JobID: 1, Root: [32]byte{1}, Count: 10}, me, 0)
	_, _, err = d.reexecuteClaim(context.Background(), gone)
	require.ErrorIs(t, err, errNotYet, "within the grace: no verdict yet")
	time.Sleep(60 * time.Millisecond)
	require.Equal(t, verifytypes.OUTCOME_UNAVAILABLE, verdict(gone).Outcome, "evidence withheld past the grace")
}
