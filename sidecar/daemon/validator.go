package daemon

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cohortchain/cohort/sidecar/blobstore"
	"github.com/cohortchain/cohort/sidecar/federation"
	fedtypes "github.com/cohortchain/cohort/x/federated/types"
)

// validatorStep aggregates every round that waits for it, offers the
// results to the node, and reveals the agreed ones.
func (d *Daemon) validatorStep(ctx context.Context) error {
	runs, err := d.activeRuns(ctx, fedtypes.RUN_STATE_TRAINING)
	if err != nil {
		return err
	}
	atts := map[string]attestation{}
	var errs []error
	for _, run := range runs {
		rresp, err := d.fed.Round(ctx, &fedtypes.QueryRoundRequest{RunId: run.Id, Number: run.CurrentRound})
		if err != nil {
			errs = append(errs, err)
			continue
		}
		round := rresp.Round
		if round.State != fedtypes.ROUND_STATE_AGGREGATING || !d.onCommittee(round) {
			continue
		}
		key := roundKey(run.Id, round.Number, round.Attempt)
		var rec outcomeRecord
		var done bool
		d.state.read(func(s *state) { rec, done = s.Outcomes[key] })
		if !done {
			var ready bool
			rec, ready, err = d.aggregateRound(ctx, run, round, key)
			if err != nil {
				errs = append(errs, fmt.Errorf("run %d round %d: %w", run.Id, round.Number, err))
				continue
			}
			if !ready {
				continue
			}
		}
		switch {
		case len(round.ResultHash) == 0:
			atts[key] = attestation{subject: fedtypes.Subject(run.Id, round.Number), resultHash: rec.ResultHash}
		case bytes.Equal(round.ResultHash, rec.ResultHash):
			if err := d.reveal(ctx, key, rec); err != nil {
				errs = append(errs, err)
			}
		default:
			d.logOnce(key+"/outvoted", "the validators agreed on another result than this sidecar's",
				"run", run.Id, "round", round.Number, "agreed", fmt.Sprintf("%X", round.ResultHash), "ours", fmt.Sprintf("%X", rec.ResultHash))
		}
	}
	d.setAttestations(fedtypes.AttestationKind, atts)
	return errors.Join(errs...)
}

// onCommittee reports whether this validator aggregates round: it sits on
// the round's committee, or the round has none (the whole set decides).
func (d *Daemon) onCommittee(round fedtypes.Round) bool {
	if len(round.Committee) == 0 {
		return true
	}
	for _, m := range round.Committee {
		if m.Operator == d.cfg.Operator {
			return true
		}
	}
	d.logOnce(fmt.Sprintf("committee/%d/%d/%d", round.RunId, round.Number, round.Attempt), "not on this round's committee",
		"run", round.RunId, "round", round.Number, "committee", len(round.Committee))
	return false
}

// aggregateRound fetches and checks a round's updates and aggregates them.
// It is not ready while an update's server does not answer and the grace
// period since the round was first seen has not passed; an update whose
// bytes do not match its commitment is rejected at once.
func (d *Daemon) aggregateRound(ctx context.Context, run fedtypes.Run, round fedtypes.Round, key string) (outcomeRecord, bool, error) {
	_, global, err := d.runWeights(ctx, run)
	if err != nil {
		return outcomeRecord{}, false, err
	}
	uresp, err := d.fed.Updates(ctx, &fedtypes.QueryUpdatesRequest{RunId: run.Id, Round: round.Number})
	if err != nil {
		return outcomeRecord{}, false, err
	}
	params, err := d.fed.Params(ctx, &fedtypes.QueryParamsRequest{})
	if err != nil {
		return outcomeRecord{}, false, err
	}
	first := d.firstSeen(key)
	var o federation.Outcome
	start := time.Now()
	if run.Spec.Privacy.Mode == fedtypes.PRIVACY_MODE_SECURE_AGGREGATION {
		// Only the sum of the masked updates can be read: every message
		// of the round must be fetched, or the round cannot be unmasked.
		msgs, err := FetchSecAggRound(ctx, d.fed, d.fetchCommitted, round)
		if err != nil && time.Since(first) < d.cfg.UnavailableGrace && !errors.Is(err, blobstore.ErrCorrupt) {
			d.logOnce(key+"/wait", "waiting for the round's secure-aggregation messages", "run", run.Id, "round", round.Number, "err", err)
			return outcomeRecord{}, false, nil
		}
		if err != nil {
			return outcomeRecord{}, false, fmt.Errorf("secure aggregation: %w", err)
		}
		if o, err = federation.AggregateSecAgg(global, round, msgs); err != nil {
			return outcomeRecord{}, false, fmt.Errorf("secure aggregation: %w", err)
		}
		return d.recordOutcome(run, round, key, o, len(msgs.Masked), start)
	}
	var subs []federation.Submitted
	for _, u := range uresp.Updates {
		sub := federation.Submitted{Hash: u.Hash, Samples: u.SampleCount}
		var ref blobstore.Ref
		copy(ref.Hash[:], u.Hash)
		ref.Size = int64(u.Size_)
		blob, err := d.fetchRef(ctx, ref, u.Location, int64(params.Params.MaxUpdateSize))
		switch {
		case err == nil:
			if sub.Update, err = federation.DecodeUpdate(run.Spec, blob, global); err != nil {
				sub.Invalid = "undecodable: " + err.Error()
			}
		case errors.Is(err, blobstore.ErrCorrupt), errors.Is(err, blobstore.ErrTooLarge):
			sub.Invalid = "blob does not match its commitment: " + err.Error()
		case time.Since(first) < d.cfg.UnavailableGrace:
			d.logOnce(key+"/wait/"+u.Participant, "waiting for an update", "run", run.Id, "round", round.Number, "participant", u.Participant, "err", err)
			return outcomeRecord{}, false, nil
		default:
			sub.Invalid = "unavailable: " + err.Error()
		}
		subs = append(subs, sub)
	}
	if o, err = federation.AggregateRun(run.Spec, global, subs); err != nil {
		return outcomeRecord{}, false, err
	}
	return d.recordOutcome(run, round, key, o, len(subs), start)
}

// recordOutcome stores a round's aggregate (tampered with under the
// wrong-aggregate attack), records it in the state and returns its record.
func (d *Daemon) recordOutcome(run fedtypes.Run, round fedtypes.Round, key string, o federation.Outcome, updates int, start time.Time) (outcomeRecord, bool, error) {
	var err error
	if d.cfg.Attack == AttackWrongAggregate {
		if o, err = federation.Tamper(o); err != nil {
			return outcomeRecord{}, false, err
		}
	}
	ref, err := d.store.PutBytes(o.Blob)
	if err != nil {
		return outcomeRecord{}, false, err
	}
	res := federation.Result(run.Id, round.Number, o, d.locationOf(ref))
	rec := outcomeRecord{RunID: run.Id, Round: round.Number, WeightsHash: o.WeightsHash[:],
		Accepted: o.Accepted, Rejected: o.Rejected, Reasons: map[string]string{}, ResultHash: res.ResultHash()}
	for h, why := range o.Reasons {
		rec.Reasons[fmt.Sprintf("%X", h)] = why
	}
	if err := d.state.update(func(s *state) { s.Outcomes[key] = rec }); err != nil {
		return outcomeRecord{}, false, err
	}
	d.log.Info("aggregated round", "run", run.Id, "round", round.Number, "updates", updates,
		"accepted", len(o.Accepted), "rejected", len(o.Rejected), "weights", ref.String(), "took", time.Since(start))
	return rec, true, nil
}

// reveal sends MsgFinalizeRound for an agreed result, after FinalizeDelay
// (so that one validator's reveal usually lands before the others try),
// and at most once every revealRetry.
func (d *Daemon) reveal(ctx context.Context, key string, rec outcomeRecord) error {
	d.mu.Lock()
	if d.agreedAt == nil {
		d.agreedAt, d.revealedAt = map[string]time.Time{}, map[string]time.Time{}
	}
	at, ok := d.agreedAt[key]
	if !ok {
		at = time.Now()
		d.agreedAt[key] = at
	}
	last, sent := d.revealedAt[key]
	due := time.Since(at) >= d.cfg.FinalizeDelay && (!sent || time.Since(last) >= revealRetry)
	if due {
		d.revealedAt[key] = time.Now()
	}
	d.mu.Unlock()
	if !due {
		return nil
	}
	var h [32]byte
	copy(h[:], rec.WeightsHash)
	ref, err := d.store.Stat(h)
	if err != nil {
		return fmt.Errorf("the agreed weights are not in the store: %w", err)
	}
	o := federation.Outcome{WeightsHash: h, Accepted: rec.Accepted}
	msg := &fedtypes.MsgFinalizeRound{Sender: d.chain.AddressString(), Result: federation.Result(rec.RunID, rec.Round, o, d.locationOf(ref))}
	bctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if _, err := d.chain.Broadcast(bctx, msg); err != nil {
		return fmt.Errorf("revealing run %d round %d (another validator may have done it first): %w", rec.RunID, rec.Round, err)
	}
	d.log.Info("revealed round result", "run", rec.RunID, "round", rec.Round, "accepted", len(rec.Accepted))
	return nil
}

// revealRetry is how long a validator waits before revealing again a
// result that is still not finalised.
const revealRetry = 20 * time.Second

// firstSeen is when this process first saw work key.
func (d *Daemon) firstSeen(key string) time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.seen == nil {
		d.seen = map[string]time.Time{}
	}
	t, ok := d.seen[key]
	if !ok {
		t = time.Now()
		d.seen[key] = t
	}
	return t
}

// logOnce logs msg the first time key is seen.
func (d *Daemon) logOnce(key, msg string, args ...any) {
	d.mu.Lock()
	if d.logged == nil {
		d.logged = map[string]bool{}
	}
	first := !d.logged[key]
	d.logged[key] = true
	d.mu.Unlock()
	if first {
		d.log.Warn(msg, args...)
	}
}
