package daemon

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/cohortchain/cohort/sidecar/federation"
	fedtypes "github.com/cohortchain/cohort/x/federated/types"
	providertypes "github.com/cohortchain/cohort/x/provider/types"
)

// providerStep executes this provider's market training leases (lease.go),
// joins the runs it serves and trains in every round it is selected for.
func (d *Daemon) providerStep(ctx context.Context) error {
	if err := d.heartbeat(ctx); err != nil {
		d.logOnce("heartbeat", "heartbeat failed (is the provider registered?)", "err", err)
	}
	var errs []error
	if err := d.trainingLeases(ctx); err != nil {
		errs = append(errs, fmt.Errorf("training leases: %w", err))
	}
	runs, err := d.activeRuns(ctx, fedtypes.RUN_STATE_OPEN, fedtypes.RUN_STATE_TRAINING)
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	me := d.account()
	for _, run := range runs {
		if len(d.cfg.Runs) > 0 && !slices.Contains(d.cfg.Runs, run.Id) {
			continue
		}
		if _, err := d.specOf(ctx, run); err != nil {
			d.logOnce(fmt.Sprintf("spec/%d", run.Id), "not serving run: its model spec is unknown here", "run", run.Id, "err", err)
			continue
		}
		var joined bool
		d.state.read(func(s *state) { joined = s.Joined[run.Id] })
		if run.State == fedtypes.RUN_STATE_OPEN {
			if !joined {
				if err := d.join(ctx, run); err != nil {
					errs = append(errs, err)
				}
			}
			continue
		}
		if !joined {
			continue
		}
		rresp, err := d.fed.Round(ctx, &fedtypes.QueryRoundRequest{RunId: run.Id, Number: run.CurrentRound})
		if err != nil {
			errs = append(errs, err)
			continue
		}
		round := rresp.Round
		if round.State != fedtypes.ROUND_STATE_COLLECTING || !slices.Contains(round.Selected, me) {
			continue
		}
		key := roundKey(run.Id, round.Number, round.Attempt)
		secure := run.Spec.Privacy.Mode == fedtypes.PRIVACY_MODE_SECURE_AGGREGATION
		if d.cfg.Attack == AttackSilent || (d.cfg.Attack == AttackDropAfterShare && !secure) {
			continue
		}
		if secure {
			// Four steps, the update the third (see secagg.go).
			if err := d.secAggProviderStep(ctx, run, round, key); err != nil {
				errs = append(errs, fmt.Errorf("run %d round %d, secure aggregation: %w", run.Id, round.Number, err))
			}
			continue
		}
		var done bool
		d.state.read(func(s *state) { _, done = s.Submitted[key] })
		if done {
			continue
		}
		if err := d.contribute(ctx, run, round, key); err != nil {
			errs = append(errs, fmt.Errorf("run %d round %d: %w", run.Id, round.Number, err))
		}
	}
	return errors.Join(errs...)
}

// heartbeat tells the chain the provider is alive every
// Config.HeartbeatEvery, so that it stays active (x/provider marks silent
// providers inactive, and inactive ones are not selected).
func (d *Daemon) heartbeat(ctx context.Context) error {
	d.mu.Lock()
	due := time.Since(d.lastBeat) >= d.cfg.HeartbeatEvery
	if due {
		d.lastBeat = time.Now()
	}
	d.mu.Unlock()
	if !due {
		return nil
	}
	bctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	_, err := d.send(bctx, &providertypes.MsgHeartbeat{Operator: d.account()})
	return err
}

// join sends MsgJoinRun, unless the chain already lists this provider.
func (d *Daemon) join(ctx context.Context, run fedtypes.Run) error {
	me := d.account()
	presp, err := d.fed.Participants(ctx, &fedtypes.QueryParticipantsRequest{RunId: run.Id})
	if err != nil {
		return err
	}
	already := false
	for _, p := range presp.Participants {
		already = already || p.Provider == me
	}
	if !already {
		bctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if _, err := d.send(bctx, d.joinMsg(run)); err != nil {
			return fmt.Errorf("joining run %d: %w", run.Id, err)
		}
		d.log.Info("joined run", "run", run.Id)
	}
	return d.state.update(func(s *state) { s.Joined[run.Id] = true })
}

// contribute trains this provider's update for a round, stores it and
// commits to it on-chain. After a restart it first looks on-chain for a
// commitment it made before the crash.
func (d *Daemon) contribute(ctx context.Context, run fedtypes.Run, round fedtypes.Round, key string) error {
	me := d.account()
	uresp, err := d.fed.Updates(ctx, &fedtypes.QueryUpdatesRequest{RunId: run.Id, Round: round.Number})
	if err != nil {
		return err
	}
	for _, u := range uresp.Updates {
		if u.Participant == me {
			return d.state.update(func(s *state) { s.Submitted[key] = fmt.Sprintf("%X", u.Hash) })
		}
	}
	cfg, err := federation.LocalConfigOf(run.Spec)
	if err != nil {
		return err
	}
	spec, global, err := d.runWeights(ctx, run)
	if err != nil {
		return err
	}
	start := time.Now()
	var res federation.LocalResult
	var evidence roundRecord
	if run.Spec.VerifyUpdates {
		// Trained like a lease, keeping the evidence a committee checks.
		res, evidence, err = d.trainVerified(run, round, spec, global)
	} else {
		res, err = federation.LocalUpdate(spec, global, d.cfg.Data, cfg, federation.TrainingSeed(round.Seed, me))
	}
	if err != nil {
		return err
	}
	if dp, ok, err := federation.DPParamsOf(run.Spec.Privacy); err != nil {
		return err
	} else if ok {
		// Client-dp: the committed blob is the clipped update plus private
		// Gaussian noise (federation.PrivatizeUpdate).
		if res, err = federation.PrivatizeUpdate(res, dp); err != nil {
			return err
		}
	}
	if res, err = Attack(d.cfg.Attack, res, round.Seed); err != nil {
		return err
	}
	residual, err := d.residuals.Get(run.Id)
	if err != nil {
		return err
	}
	res, residual, err = federation.Compress(run.Spec, res, residual)
	if err != nil {
		return err
	}
	trained := time.Since(start)
	ref, err := d.store.PutBytes(res.Blob)
	if err != nil {
		return err
	}
	if d.cfg.Attack == AttackCorruptBlob {
		ref.Size++ // the commitment no longer matches the bytes served
	}
	if run.Spec.VerifyUpdates {
		// Served before the commitment lands: the committee may ask at once.
		if err := d.recordRound(evidence); err != nil {
			return err
		}
	}
	msg := &fedtypes.MsgSubmitUpdate{Participant: me, RunId: run.Id, Round: round.Number, Hash: ref.Hash[:],
		Size_: uint64(ref.Size), Location: d.locationOf(ref), SampleCount: uint64(res.Samples), CheckpointRoot: res.CheckpointRoot[:]}
	bctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if _, err := d.send(bctx, msg); err != nil {
		return fmt.Errorf("submitting update: %w", err)
	}
	if err := d.residuals.Set(run.Id, residual); err != nil {
		return err
	}

	d.log.Info("submitted update", "run", run.Id, "round", round.Number, "update", ref.String(), "bytes", ref.Size,
		"samples", res.Samples, "train", trained, "attack", d.cfg.Attack)
	return d.state.update(func(s *state) { s.Submitted[key] = ref.Hex() })
}
