package daemon

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	"github.com/cohortchain/cohort/sidecar/engine"
	"github.com/cohortchain/cohort/sidecar/federation"
	"github.com/cohortchain/cohort/sidecar/tensor"
	"github.com/cohortchain/cohort/sidecar/training"
	fedtypes "github.com/cohortchain/cohort/x/federated/types"
)

// This file is a provider's part of federated runs that verify updates
// (RunSpec.verify_updates): it joins with a commitment to its examples
// (federation.DataRoot of its shard), trains each update the way it trains
// a market lease (advance: honestly, or following its attack), keeping
// snapshots and leaves, and serves the evidence a committee re-executes
// sampled local steps against:
//
//	GET /v1/federated/{run}/{round}/leaves           32 bytes per local step
//	GET /v1/federated/{run}/{round}/checkpoints/{s}  the checkpoint after local
//	                                                 step s (regenerated from
//	                                                 the nearest snapshot)
//	GET /v1/federated/{run}/{round}/batch/{s}        the examples of step s's
//	                                                 batch with their proofs
//	                                                 (federation.Batch, JSON)

const federatedPath = "/v1/federated/"

// roundRecord is a provider's update of a verified round with its
// evidence: the lease-like record of its local training, and what makes
// the round executable again after a restart.
type roundRecord struct {
	leaseRecord
	RunID uint64 `json:"run_id"`
	Round uint32 `json:"round"`
	// Seed is the local training seed (federation.TrainingSeed).
	Seed uint64 `json:"seed"`
	// Start is the hex sha256 of the global weights trained from.
	Start string `json:"start"`
}

// roundEvidenceKey keys a verified round's record.
func roundEvidenceKey(run uint64, round uint32) string { return fmt.Sprintf("%d/%d", run, round) }

// dataLeaves are the leaves of this provider's data commitment (cached).
func (d *Daemon) dataLeaves() [][32]byte {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.committed == nil {
		d.committed = federation.DataLeaves(d.cfg.Data)
	}
	return d.committed
}

// joinMsg is this provider's MsgJoinRun for run: with the commitment to
// its examples when the run verifies updates.
func (d *Daemon) joinMsg(run fedtypes.Run) *fedtypes.MsgJoinRun {
	msg := &fedtypes.MsgJoinRun{Provider: d.account(), RunId: run.Id}
	if run.Spec.VerifyUpdates {
		root := federation.DataRoot(d.cfg.Data)
		msg.DataRoot, msg.DataSize = root[:], uint64(len(d.cfg.Data.Labels))
	}
	return msg
}

// roundExec is the local training of a verified round on data as an
// executable job: the global weights and the local configuration of seed,
// trained honestly or following attack (advance).
func roundExec(spec engine.Spec, run fedtypes.Run, global tensor.Set, data engine.Dataset, seed uint64, attack string) (*execJob, error) {
	cfg, err := federation.LocalConfigOf(run.Spec)
	if err != nil {
		return nil, err
	}
	return &execJob{job: training.Job{Spec: spec, Config: federation.LocalTrainConfig(cfg, len(data.Labels), seed)},
		data: data, initial: global, attack: attack}, nil
}

// verifiedUpdate is the update x's local training gives (advance from the
// global weights: what a provider of a verified run commits, attack
// included), without keeping evidence: what a replay recomputes.
func verifiedUpdate(x *execJob) (federation.LocalResult, error) {
	var leaves [][32]byte
	last, err := advance(x, engine.InitialCheckpoint(x.initial, x.job.Config.Optimizer), int(x.job.Steps()), func(c engine.Checkpoint) error {
		h, err := c.Hash()
		leaves = append(leaves, h)
		return err
	})
	if err != nil {
		return federation.LocalResult{}, err
	}
	return federation.UpdateOf(x.initial, last.Weights, len(x.data.Labels), federation.CheckpointRoot(leaves))
}

// trainVerified trains this provider's update of round for a run that
// verifies updates, keeping the evidence; the record is stored before the
// update is submitted (recordRound).
func (d *Daemon) trainVerified(run fedtypes.Run, round fedtypes.Round, spec engine.Spec, global tensor.Set) (federation.LocalResult, roundRecord, error) {
	seed := federation.TrainingSeed(round.Seed, d.account())
	x, err := roundExec(spec, run, global, d.cfg.Data, seed, d.cfg.Attack)
	if err != nil {
		return federation.LocalResult{}, roundRecord{}, err
	}
	rec, last, err := d.train(x)
	if err != nil {
		return federation.LocalResult{}, roundRecord{}, err
	}
	d.cacheRound(run.Id, round.Number, x)
	root, err := hex.DecodeString(rec.Root)
	if err != nil || len(root) != 32 {
		return federation.LocalResult{}, roundRecord{}, fmt.Errorf("checkpoint root %q", rec.Root)
	}
	res, err := federation.UpdateOf(global, last.Weights, len(d.cfg.Data.Labels), [32]byte(root))
	if err != nil {
		return federation.LocalResult{}, roundRecord{}, err
	}
	return res, roundRecord{leaseRecord: rec, RunID: run.Id, Round: round.Number, Seed: seed,
		Start: hex.EncodeToString(run.GlobalWeightsHash)}, nil
}

// recordRound keeps a verified round's evidence record.
func (d *Daemon) recordRound(rec roundRecord) error {
	return d.state.update(func(s *state) { s.Rounds[roundEvidenceKey(rec.RunID, rec.Round)] = rec })
}

// serveFederated serves a verified round's evidence (see the top of this
// file).
func (d *Daemon) serveFederated(w http.ResponseWriter, r *http.Request) {
	parts, ok := evidenceRequest(w, r, federatedPath, 3)
	if !ok {
		return
	}
	run, err1 := strconv.ParseUint(parts[0], 10, 64)
	round, err2 := strconv.ParseUint(parts[1], 10, 32)
	if err1 != nil || err2 != nil {
		http.Error(w, "bad run or round", http.StatusBadRequest)
		return
	}
	var rec roundRecord
	d.state.read(func(s *state) { rec, ok = s.Rounds[roundEvidenceKey(run, uint32(round))] })
	if !ok {
		http.Error(w, "no verified update of that round here", http.StatusNotFound)
		return
	}
	x := func() (*execJob, error) { return d.roundExecOf(r.Context(), rec) }
	if parts[2] == "batch" {
		if len(parts) != 4 {
			http.NotFound(w, r)
			return
		}
		step, err := strconv.ParseUint(parts[3], 10, 64)
		if err != nil || step >= rec.Steps {
			http.Error(w, "step out of range", http.StatusBadRequest)
			return
		}
		xj, err := x()
		if err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		b, err := federation.RevealBatch(d.cfg.Data, d.dataLeaves(), xj.job.Config, step)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(b)
		return
	}
	d.serveEvidence(w, r, parts[2:], rec.leaseRecord, x)
}

// roundExecOf makes a recorded round executable again (after a restart,
// from the chain and the own store; cached).
func (d *Daemon) roundExecOf(ctx context.Context, rec roundRecord) (*execJob, error) {
	key := roundEvidenceKey(rec.RunID, rec.Round)
	d.mu.Lock()
	x, ok := d.rounds[key]
	d.mu.Unlock()
	if ok {
		return x, nil
	}
	rresp, err := d.fed.Run(ctx, &fedtypes.QueryRunRequest{Id: rec.RunID})
	if err != nil {
		return nil, err
	}
	spec, err := d.specOf(ctx, rresp.Run)
	if err != nil {
		return nil, err
	}
	start, err := hex.DecodeString(rec.Start)
	if err != nil {
		return nil, err
	}
	global, err := d.fetchWeights(ctx, spec, start, "")
	if err != nil {
		return nil, fmt.Errorf("the round's global weights: %w", err)
	}
	if x, err = roundExec(spec, rresp.Run, global, d.cfg.Data, rec.Seed, rec.Attack); err != nil {
		return nil, err
	}
	d.cacheRound(rec.RunID, rec.Round, x)
	return x, nil
}

// cacheRound keeps x as round's executable job, and forgets those of the
// run's rounds before the previous one (each holds its global weights; a
// late request rebuilds one from the chain and the store).
func (d *Daemon) cacheRound(run uint64, round uint32, x *execJob) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for r := uint32(1); r+1 < round; r++ {
		delete(d.rounds, roundEvidenceKey(run, r))
	}
	d.rounds[roundEvidenceKey(run, round)] = x
}
