package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/cohortchain/cohort/sidecar/blobstore"
	"github.com/cohortchain/cohort/sidecar/chain"
	"github.com/cohortchain/cohort/sidecar/daemon"
	"github.com/cohortchain/cohort/sidecar/engine"
	"github.com/cohortchain/cohort/sidecar/federation"
	"github.com/cohortchain/cohort/sidecar/tensor"
	fedtypes "github.com/cohortchain/cohort/x/federated/types"
)

// watchCmd follows a federated run on-chain: a live table of its rounds
// (test accuracy of each round's global weights, participants, outliers
// rejected, tokens paid, time per phase, bytes written to chain state), an
// optional replay of every round in-process that must give the chain's
// hashes, and an HTML plot of accuracy per round.
func watchCmd() *cobra.Command {
	var (
		grpcAddr, specPath, htmlPath, participants string
		runID                                      uint64
		poll                                       time.Duration
		df                                         shardFlags
	)
	cmd := &cobra.Command{
		Use:   "watch",
		Short: "Follow a federated run: live table of rounds, in-process replay against the chain's hashes, HTML plot",
		Long: `Prints one row per finalised round of --run until the run ends. --participants
"addr=shard[:attack],..." names every provider's shard of the data (--data, --shards, ...
as the providers were given) so that each round is replayed in-process with the same seeds:
every update and the aggregate must hash to what the chain recorded.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			specBlob, err := os.ReadFile(specPath)
			if err != nil {
				return err
			}
			spec, err := engine.DecodeSpec(specBlob)
			if err != nil {
				return err
			}
			_, test, err := df.load()
			if err != nil {
				return err
			}
			parts, err := replayParticipants(&df, participants)
			if err != nil {
				return err
			}
			c, err := chain.Dial(ctx, chain.Config{GRPC: grpcAddr})
			if err != nil {
				return err
			}
			defer c.Close()
			w := &watcher{out: cmd.OutOrStdout(), fed: fedtypes.NewQueryClient(c.Conn()), spec: spec, test: test,
				parts: parts, htmlPath: htmlPath, seen: map[string]time.Time{}}
			return w.follow(ctx, runID, poll)
		},
	}
	f := cmd.Flags()
	f.StringVar(&grpcAddr, "grpc", "127.0.0.1:9090", "node gRPC address")
	f.Uint64Var(&runID, "run", 1, "run id")
	f.StringVar(&specPath, "spec", "model/spec.json", "the run's model spec (cohort-sidecar init-model)")
	f.StringVar(&htmlPath, "html", "", "write an HTML plot of test accuracy per round here")
	f.StringVar(&participants, "participants", "", `replay every round in-process: "addr=shard[:attack],..." for every provider`)
	f.DurationVar(&poll, "poll", 250*time.Millisecond, "how often to read the chain")
	df.register(f)
	return cmd
}

// replayParticipants parses --participants into each provider's data.
func replayParticipants(df *shardFlags, spec string) (map[string]daemon.Participant, error) {
	if spec == "" {
		return nil, nil
	}
	out := map[string]daemon.Participant{}
	for _, item := range strings.Split(spec, ",") {
		addr, rest, ok := strings.Cut(item, "=")
		if !ok {
			return nil, fmt.Errorf("--participants item %q is not addr=shard[:attack]", item)
		}
		shardStr, attack, _ := strings.Cut(rest, ":")
		i, err := strconv.Atoi(shardStr)
		if err != nil {
			return nil, fmt.Errorf("--participants item %q: %w", item, err)
		}
		d, err := df.shard(i, attack)
		if err != nil {
			return nil, err
		}
		if attack == daemon.AttackLabelFlip {
			attack = "" // acted on the data
		}
		out[addr] = daemon.Participant{Data: d, Attack: attack, Residuals: federation.NewResiduals("")}
	}
	return out, nil
}

// watcher follows one run.
type watcher struct {
	out      io.Writer
	fed      fedtypes.QueryClient
	spec     engine.Spec
	test     engine.Dataset
	parts    map[string]daemon.Participant
	htmlPath string

	global  tensor.Set
	seen    map[string]time.Time // first sight of each round's phases
	rows    []roundRow
	replays int
}

// roundRow is one line of the table.
type roundRow struct {
	Round, Attempt                        uint32
	Selected, Updates, Accepted, Rejected int
	Accuracy                              float64
	Paid                                  string
	Collect, Agree                        time.Duration
	StateBytes                            int
	Replay                                string
	TrainReplay, AggregateReplay          time.Duration
	// Epsilon is the client-dp ε spent once this round was finalised ("" for
	// other runs).
	Epsilon string
}

func (w *watcher) follow(ctx context.Context, runID uint64, poll time.Duration) error {
	next := uint32(1)
	header := false
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		rresp, err := w.fed.Run(ctx, &fedtypes.QueryRunRequest{Id: runID})
		if err != nil {
			return err
		}
		run := rresp.Run
		if !header {
			w.header(run)
			header = true
		}
		if w.global == nil && run.State != fedtypes.RUN_STATE_OPEN {
			if w.global, err = w.weights(ctx, run.Spec.InitialWeightsHash, run.Spec.InitialWeightsLocation); err != nil {
				return err
			}
		}
		if run.State == fedtypes.RUN_STATE_TRAINING && run.CurrentRound >= next {
			if r, err := w.fed.Round(ctx, &fedtypes.QueryRoundRequest{RunId: runID, Number: run.CurrentRound}); err == nil {
				w.mark(r.Round)
			}
		}
		for w.global != nil && next <= run.CurrentRound {
			r, err := w.fed.Round(ctx, &fedtypes.QueryRoundRequest{RunId: runID, Number: next})
			if err != nil {
				return err
			}
			if r.Round.State != fedtypes.ROUND_STATE_FINALISED {
				break
			}
			if err := w.finalised(ctx, run, r.Round); err != nil {
				return err
			}
			next++
		}
		if run.State.Terminal() {
			fmt.Fprintf(w.out, "run %d %s: %s\n", run.Id, run.State, run.EndReason)
			switch {
			case isDP(run):
				fmt.Fprintf(w.out, "replay: %d of %d finalised rounds re-aggregated in-process from the committed (privately noised) update blobs, with equal weights hashes\n", w.replays, len(w.rows))
				fmt.Fprintf(w.out, "client-dp: ε = %s spent of %s (δ = %s, clip %s, noise multiplier %s)\n", run.DpEpsilonSpent,
					run.Spec.Privacy.Epsilon, run.Spec.Privacy.Delta, run.Spec.Privacy.ClipNorm, run.Spec.Privacy.NoiseMultiplier)
			case run.Spec.Privacy.Mode == fedtypes.PRIVACY_MODE_SECURE_AGGREGATION:
				fmt.Fprintf(w.out, "replay: %d of %d finalised rounds unmasked and re-aggregated in-process from the chain's record of the secure aggregation, with equal weights hashes (no update was ever seen)\n", w.replays, len(w.rows))
			case w.parts != nil:
				fmt.Fprintf(w.out, "replay: %d of %d finalised rounds recomputed in-process with equal update and weights hashes\n", w.replays, len(w.rows))
			}
			w.summary()
			if run.PublishedVersion > 0 {
				fmt.Fprintf(w.out, "registry: model %d version %d holds the final weights %X\n", run.Spec.Model.RegistryModelId, run.PublishedVersion, run.GlobalWeightsHash)
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// isDP reports whether run is a client-dp run.
func isDP(run fedtypes.Run) bool { return run.Spec.Privacy.Mode == fedtypes.PRIVACY_MODE_CLIENT_DP }

// header prints the table's header; client-dp runs get an ε column.
func (w *watcher) header(run fedtypes.Run) {
	eps := ""
	if isDP(run) {
		eps = fmt.Sprintf(" %9s", "dp-eps")
	}
	fmt.Fprintf(w.out, "%5s %4s %8s %7s %8s %8s %8s %14s%s %9s %8s %11s %s\n",
		"round", "try", "selected", "updates", "accepted", "rejected", "test-acc", "paid(ucohort)", eps, "collect", "agree", "state-bytes", "replay")
}

// summary prints where a round's time went, on average: on-chain phases
// as observed (collect: the providers' training, upload and commitment
// transactions; agree: the validators' fetching and aggregating, the vote
// extensions and the reveal transaction), and the in-process replay's
// training (per update) and aggregation.
func (w *watcher) summary() {
	var collect, agree, train, agg time.Duration
	var timed, updates, bytes int
	for _, r := range w.rows {
		if r.Collect > 0 {
			collect += r.Collect
			agree += r.Agree
			timed++
		}
		train += r.TrainReplay
		agg += r.AggregateReplay
		updates += r.Updates
		bytes += r.StateBytes
	}
	if len(w.rows) == 0 {
		return
	}
	if timed > 0 {
		fmt.Fprintf(w.out, "time per round (mean of %d): collect %v, agree and reveal %v\n", timed,
			(collect / time.Duration(timed)).Round(10*time.Millisecond), (agree / time.Duration(timed)).Round(10*time.Millisecond))
	}
	if w.replays > 0 && updates > 0 {
		fmt.Fprintf(w.out, "in-process: local training %v per update, aggregation %v per round\n",
			(train / time.Duration(updates)).Round(time.Millisecond), (agg / time.Duration(w.replays)).Round(time.Millisecond))
	}
	fmt.Fprintf(w.out, "chain state written per round (round record and update commitments): %d bytes on average\n", bytes/len(w.rows))
}

// mark records when the current round was first seen in each phase.
func (w *watcher) mark(r fedtypes.Round) {
	phase := r.State.String()
	if len(r.ResultHash) > 0 {
		phase = "AGREED"
	}
	k := fmt.Sprintf("%d/%d/%s", r.Number, r.Attempt, phase)
	if _, ok := w.seen[k]; !ok {
		w.seen[k] = time.Now()
	}
}

// finalised reports one finalised round.
func (w *watcher) finalised(ctx context.Context, run fedtypes.Run, r fedtypes.Round) error {
	uresp, err := w.fed.Updates(ctx, &fedtypes.QueryUpdatesRequest{RunId: run.Id, Round: r.Number})
	if err != nil {
		return err
	}
	row := roundRow{Round: r.Number, Attempt: r.Attempt, Selected: len(r.Selected), Updates: len(uresp.Updates),
		Accepted: len(r.AcceptedUpdates), Rejected: len(r.RejectedUpdates), Paid: run.Paid.Amount.String()}
	rb, _ := r.Marshal()
	row.StateBytes = len(rb)
	for _, u := range uresp.Updates {
		b, _ := u.Marshal()
		row.StateBytes += len(b)
	}
	at := func(phase string) (time.Time, bool) {
		t, ok := w.seen[fmt.Sprintf("%d/%d/%s", r.Number, r.Attempt, phase)]
		return t, ok
	}
	if c, ok := at("ROUND_STATE_COLLECTING"); ok {
		if a, ok := at("ROUND_STATE_AGGREGATING"); ok {
			row.Collect = a.Sub(c)
			row.Agree = time.Since(a)
		}
	}
	row.Replay = "-"
	if isDP(run) {
		// The ε the chain recorded when it finalised this round (the
		// accountant's function, so equal to run.dp_epsilon_spent then).
		if eps, err := run.Spec.Privacy.EpsilonAfterRounds(r.Number); err == nil {
			row.Epsilon = eps.String()
		}
	}
	if run.Spec.Privacy.Mode == fedtypes.PRIVACY_MODE_SECURE_AGGREGATION {
		for _, stage := range []fedtypes.SecAggStage{fedtypes.SECAGG_STAGE_ADVERTISE, fedtypes.SECAGG_STAGE_SHARE_KEYS, fedtypes.SECAGG_STAGE_UNMASK} {
			sresp, err := w.fed.SecAggMessages(ctx, &fedtypes.QuerySecAggMessagesRequest{RunId: run.Id, Round: r.Number, Stage: stage})
			if err != nil {
				return err
			}
			for _, m := range sresp.Messages {
				b, _ := m.Marshal()
				row.StateBytes += len(b)
			}
		}
		rep, err := daemon.ReplaySecAggRound(ctx, w.fed, w.fetchBlob, w.global, run, r)
		if err != nil {
			row.Replay = "MISMATCH: " + err.Error()
		} else {
			row.Replay = "updates: masked (secure aggregation), aggregate: equal"
			row.AggregateReplay = rep.Aggregate
			w.replays++
		}
	} else if w.parts != nil || isDP(run) {
		// A client-dp round is always re-aggregated from the committed
		// blobs; its training is re-run only when --participants is given.
		rep, err := daemon.ReplayRound(w.spec, w.global, run, r, uresp.Updates, w.parts, w.fetchUpdate(ctx))
		switch {
		case err != nil:
			row.Replay = "MISMATCH: " + err.Error()
		case rep.Private:
			row.Replay = "updates: private (noised), aggregate: equal"
		default:
			row.Replay = "equal"
		}
		if err == nil {
			row.TrainReplay, row.AggregateReplay = rep.Train, rep.Aggregate
			w.replays++
		}
	}
	next, err := w.weights(ctx, r.NewWeightsHash, r.NewWeightsLocation)
	if err != nil {
		return err
	}
	w.global = next
	if row.Accuracy, err = engine.Accuracy(w.spec, next, w.test); err != nil {
		return err
	}
	w.rows = append(w.rows, row)
	dur := func(d time.Duration) string {
		if d == 0 {
			return "-"
		}
		return d.Round(10 * time.Millisecond).String()
	}
	eps := ""
	if isDP(run) {
		eps = fmt.Sprintf(" %9s", shortDec(row.Epsilon))
	}
	fmt.Fprintf(w.out, "%5d %4d %8d %7d %8d %8d %7.2f%% %14s%s %9s %8s %11d %s\n", row.Round, row.Attempt, row.Selected, row.Updates,
		row.Accepted, row.Rejected, 100*row.Accuracy, row.Paid, eps, dur(row.Collect), dur(row.Agree), row.StateBytes, row.Replay)
	if w.htmlPath != "" {
		return os.WriteFile(w.htmlPath, plotHTML(run.Id, w.rows), 0o644)
	}
	return nil
}

// shortDec prints a decimal string with 3 decimals ("-" when empty).
func shortDec(s string) string {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return "-"
	}
	return strconv.FormatFloat(f, 'f', 3, 64)
}

// fetchBlob fetches a blob committed on-chain from its location, verified
// against its hash and size.
func (w *watcher) fetchBlob(ctx context.Context, hash []byte, size uint64, location string) ([]byte, error) {
	var ref blobstore.Ref
	copy(ref.Hash[:], hash)
	ref.Size = int64(size)
	c, err := blobstore.ClientFor(location)
	if err != nil {
		return nil, err
	}
	fctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return c.Fetch(fctx, ref, int64(min(size, math.MaxInt64)))
}

// fetchUpdate fetches an update's committed blob from its location,
// verified against its hash and size (for the client-dp replay).
func (w *watcher) fetchUpdate(ctx context.Context) daemon.FetchUpdate {
	return func(u fedtypes.Update) ([]byte, error) { return w.fetchBlob(ctx, u.Hash, u.Size_, u.Location) }
}

// weights fetches and hash-checks a weights blob.
func (w *watcher) weights(ctx context.Context, hash []byte, location string) (tensor.Set, error) {
	ws, _, err := daemon.FetchWeights(ctx, w.spec, hash, []string{location}, 30*time.Second, 1<<30)
	return ws, err
}

// plotHTML draws test accuracy per round as an SVG line in a small page.
func plotHTML(run uint64, rows []roundRow) []byte {
	const W, H, pad = 720.0, 360.0, 48.0
	var b bytes.Buffer
	fmt.Fprintf(&b, "<!doctype html><meta charset=utf-8><title>Cohort run %d</title>\n", run)
	fmt.Fprintf(&b, "<h1 style=\"font-family:sans-serif\">Federated run %d: test accuracy per round</h1>\n", run)
	fmt.Fprintf(&b, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" font-family=\"sans-serif\" font-size=\"12\">\n", W, H)
	fmt.Fprintf(&b, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n")
	n := max(len(rows), 2)
	x := func(i int) float64 { return pad + float64(i)*(W-2*pad)/float64(n-1) }
	y := func(acc float64) float64 { return H - pad - acc*(H-2*pad) }
	for _, tick := range []float64{0, 0.25, 0.5, 0.75, 1} {
		fmt.Fprintf(&b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/><text x=\"4\" y=\"%.1f\">%.0f%%</text>\n",
			pad, y(tick), W-pad, y(tick), y(tick)+4, tick*100)
	}
	var pts []string
	for i, r := range rows {
		pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(i), y(r.Accuracy)))
	}
	fmt.Fprintf(&b, "<polyline fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"2\" points=\"%s\"/>\n", strings.Join(pts, " "))
	for i, r := range rows {
		fmt.Fprintf(&b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"#1f77b4\"><title>round %d: %.2f%%, %d accepted, %d rejected</title></circle>\n",
			x(i), y(r.Accuracy), r.Round, 100*r.Accuracy, r.Accepted, r.Rejected)
	}
	fmt.Fprintf(&b, "<text x=\"%.1f\" y=\"%.1f\">round 1 … %d</text></svg>\n", W/2-30, H-12, len(rows))
	fmt.Fprintf(&b, "<table border=1 cellpadding=3 style=\"font-family:monospace;border-collapse:collapse\"><tr><th>round<th>accuracy<th>accepted<th>rejected<th>paid (ucohort)<th>replay</tr>\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "<tr><td>%d<td>%.2f%%<td>%d<td>%d<td>%s<td>%s</tr>\n", r.Round, 100*r.Accuracy, r.Accepted, r.Rejected, r.Paid, r.Replay)
	}
	b.WriteString("</table>\n")
	return b.Bytes()
}
