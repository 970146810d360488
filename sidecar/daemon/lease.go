package daemon

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	querytypes "github.com/cosmos/cosmos-sdk/types/query"

	"github.com/cohortchain/cohort/sidecar/blobstore"
	"github.com/cohortchain/cohort/sidecar/data"
	"github.com/cohortchain/cohort/sidecar/engine"
	"github.com/cohortchain/cohort/sidecar/federation"
	"github.com/cohortchain/cohort/sidecar/tensor"
	"github.com/cohortchain/cohort/sidecar/training"
	markettypes "github.com/cohortchain/cohort/x/market/types"
	regtypes "github.com/cohortchain/cohort/x/registry/types"
)

// This file is a provider's part of market training leases: it trains the
// jobs leased to it (package training says what a job means), keeps a
// snapshot of the training state every few steps, delivers the final
// weights as a blob and commits to the per-step checkpoints with a Merkle
// root (MsgSubmitResult). It serves the evidence verifiers re-execute
// against:
//
//	GET /v1/training/{job}/leaves            the leaves: 32 bytes per step
//	GET /v1/training/{job}/checkpoints/{s}   the checkpoint after step s
//	                                         (engine.Checkpoint encoding),
//	                                         regenerated from the nearest
//	                                         snapshot

const trainingPath = "/v1/training/"

// maxSnapshots bounds the snapshots kept of one lease: a longer job keeps
// one every ceil(steps/maxSnapshots) steps.
const maxSnapshots = 256

// leaseRecord is what a provider did for a training lease. The blobs
// (result, leaves, snapshots) are in the store under these hashes.
type leaseRecord struct {
	JobID      uint64 `json:"job_id"`
	Steps      uint64 `json:"steps"`
	ResultHash string `json:"result_hash"`
	ResultSize int64  `json:"result_size"`
	Root       string `json:"checkpoint_root"`
	Leaves     string `json:"leaves"`
	// Snapshots are checkpoint blobs by step count (0: the initial one).
	Snapshots map[uint64]string `json:"snapshots"`
	Attack    string            `json:"attack,omitempty"`
	Submitted bool              `json:"submitted"`
}

// execJob is a training job ready to run: its definition, data and
// initial weights.
type execJob struct {
	job     training.Job
	data    engine.Dataset
	initial tensor.Set
	// attack is the provider attack its trajectory follows ("" honest).
	attack string
}

// trainingLeases trains and submits the leased training jobs of this
// provider.
func (d *Daemon) trainingLeases(ctx context.Context) error {
	jobs, err := d.jobsOf(ctx, &markettypes.QueryJobsRequest{Provider: d.account(), State: markettypes.JOB_STATE_LEASED})
	if err != nil {
		return err
	}
	var errs []error
	for _, job := range jobs {
		if job.Kind != markettypes.JOB_KIND_TRAINING || job.Lease == nil || job.Lease.Provider != d.account() {
			continue
		}
		if err := d.executeLease(ctx, job); err != nil {
			errs = append(errs, fmt.Errorf("job %d: %w", job.Id, err))
		}
	}
	return errors.Join(errs...)
}

// nextPage asks for the page after key.
func nextPage(key []byte) *querytypes.PageRequest { return &querytypes.PageRequest{Key: key} }

// jobsOf lists the market's jobs matching req, all pages.
func (d *Daemon) jobsOf(ctx context.Context, req *markettypes.QueryJobsRequest) ([]markettypes.Job, error) {
	var out []markettypes.Job
	for {
		resp, err := d.mkt.Jobs(ctx, req)
		if err != nil {
			return nil, err
		}
		out = append(out, resp.Jobs...)
		if resp.Pagination == nil || len(resp.Pagination.NextKey) == 0 {
			return out, nil
		}
		req.Pagination = nextPage(resp.Pagination.NextKey)
	}
}

// executeLease trains job (unless done before a restart) and submits its
// result. Training runs in the background, one lease at a time, so that a
// long job does not hold up the poll loop (heartbeats, federated rounds);
// the poll after it ends submits the result.
func (d *Daemon) executeLease(ctx context.Context, job markettypes.Job) error {
	var rec leaseRecord
	var done bool
	d.state.read(func(s *state) { rec, done = s.Leases[job.Id] })
	if done && rec.Submitted {
		return nil
	}
	if !done {
		d.mu.Lock()
		busy := d.trainingLease != 0
		d.mu.Unlock()
		if busy {
			return nil
		}
		x, err := d.execJobFor(ctx, job, d.cfg.Attack)
		if err != nil {
			d.logOnce(fmt.Sprintf("lease/%d", job.Id), "cannot execute training lease", "job", job.Id, "err", err)
			return nil
		}
		d.mu.Lock()
		d.trainingLease = job.Id
		d.mu.Unlock()
		go func() {
			defer func() {
				d.mu.Lock()
				d.trainingLease = 0
				d.mu.Unlock()
			}()
			start := time.Now()
			rec, _, err := d.train(x)
			if err == nil {
				err = d.state.update(func(s *state) { s.Leases[job.Id] = rec })
			}
			if err != nil {
				d.log.Error("training lease failed; retrying on the next poll", "job", job.Id, "err", err)
				return
			}
			d.log.Info("trained lease", "job", job.Id, "steps", rec.Steps, "took", time.Since(start), "root", rec.Root, "attack", d.cfg.Attack)
		}()
		return nil
	}
	hash, _ := hex.DecodeString(rec.ResultHash)
	root, _ := hex.DecodeString(rec.Root)
	var h [32]byte
	copy(h[:], hash)
	ref := blobstore.Ref{Hash: h, Size: rec.ResultSize}
	msg := &markettypes.MsgSubmitResult{Provider: d.account(), JobId: job.Id, Result: markettypes.Result{
		Hash: hash, Size_: uint64(rec.ResultSize), Location: d.locationOf(ref), CheckpointRoot: root, TotalSteps: rec.Steps,
	}}
	bctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if _, err := d.send(bctx, msg); err != nil {
		return fmt.Errorf("submitting result: %w", err)
	}
	d.log.Info("submitted training result", "job", job.Id, "result", rec.ResultHash, "root", rec.Root, "steps", rec.Steps)
	return d.state.update(func(s *state) {
		rec.Submitted = true
		s.Leases[job.Id] = rec
	})
}

// execJobFor makes a market job executable: the registry's model, version
// and spec (the spec must be in the store: --import), the dataset and the
// initial weights. attack is the provider attack to follow (wrong-data
// changes the data).
func (d *Daemon) execJobFor(ctx context.Context, job markettypes.Job, attack string) (*execJob, error) {
	d.mu.Lock()
	x, ok := d.jobs[job.Id]
	d.mu.Unlock()
	if ok {
		return x, nil
	}
	mid, vnum, err := training.ModelRef(job.Spec)
	if err != nil {
		return nil, err
	}
	mresp, err := d.reg.Model(ctx, &regtypes.QueryModelRequest{Id: mid})
	if err != nil {
		return nil, fmt.Errorf("model %d: %w", mid, err)
	}
	if vnum == 0 {
		vnum = mresp.Model.LatestVersion
	}
	vresp, err := d.reg.Version(ctx, &regtypes.QueryVersionRequest{ModelId: mid, Number: vnum})
	if err != nil {
		return nil, fmt.Errorf("model %d version %d: %w", mid, vnum, err)
	}
	var sources []string
	if job.Lease != nil && job.Lease.Result != nil && job.Lease.Result.Location != "" {
		sources = append(sources, job.Lease.Result.Location) // the provider's server
	}
	sources = append(append(sources, vresp.Version.Locations...), d.cfg.Mirrors...)
	spec, err := d.specByHash(ctx, mresp.Model.Architecture.SpecHash, sources...)
	if err != nil {
		return nil, err
	}
	tj, err := training.FromMarket(job, mresp.Model, vresp.Version, spec)
	if err != nil {
		return nil, err
	}
	ds, err := d.dataset(tj.Data, spec.InputWidth())
	if err != nil {
		return nil, err
	}
	if attack == AttackWrongData {
		other := tj.Data
		if other.Kind == training.DataSynthetic {
			other.Seed++
			if ds, err = d.dataset(other, spec.InputWidth()); err != nil {
				return nil, err
			}
		} else {
			ds = data.FlipLabels(ds, 10)
		}
	}
	initial, err := d.fetchWeights(ctx, spec, tj.WeightsHash[:], tj.WeightsLocations[0])
	if err != nil {
		return nil, fmt.Errorf("initial weights: %w", err)
	}
	x = &execJob{job: tj, data: ds, initial: initial, attack: attack}
	d.mu.Lock()
	d.jobs[job.Id] = x
	d.mu.Unlock()
	return x, nil
}

// specByHash is the engine spec whose canonical encoding has sha256 hash:
// cached, or in the own store (--import), or else fetched from the first of
// sources (blob locations or blob server URLs) that serves it, checked
// against hash and kept. A validator on the committee of a job whose
// model it never imported thus gets the spec from the provider, which
// trained with it, or from the weights' server. With no sources only a
// spec held here will do.
func (d *Daemon) specByHash(ctx context.Context, hash []byte, sources ...string) (engine.Spec, error) {
	d.mu.Lock()
	s, ok := d.specs[string(hash)]
	d.mu.Unlock()
	if ok {
		return s, nil
	}
	if len(hash) != 32 {
		return engine.Spec{}, fmt.Errorf("spec hash of %d bytes", len(hash))
	}
	var b []byte
	ref, err := d.store.Stat([32]byte(hash))
	if err == nil {
		b, err = d.store.Get(ref, engine.MaxSpecBytes)
	}
	if err != nil {
		var errs []error
		for _, src := range sources {
			c, cerr := blobstore.ClientFor(src)
			if cerr != nil {
				errs = append(errs, cerr)
				continue
			}
			fctx, cancel := context.WithTimeout(ctx, d.cfg.FetchTimeout)
			b, err = c.FetchHash(fctx, [32]byte(hash), engine.MaxSpecBytes)
			cancel()
			if err == nil {
				break
			}
			errs = append(errs, err)
		}
		if b == nil {
			return engine.Spec{}, fmt.Errorf("spec %X is neither in this sidecar's store (--import spec.json) nor served by %d sources: %w", hash, len(sources), errors.Join(errs...))
		}
	}
	if s, err = engine.DecodeSpec(b); err != nil {
		return engine.Spec{}, err
	}
	if _, err := d.store.PutBytes(b); err != nil {
		return engine.Spec{}, err
	}
	d.mu.Lock()
	d.specs[string(hash)] = s
	d.mu.Unlock()
	return s, nil
}

// dataset loads (once) the dataset of spec for a model of input width.
func (d *Daemon) dataset(spec training.DataSpec, width int) (engine.Dataset, error) {
	key := spec.String() + "/" + strconv.Itoa(width)
	d.mu.Lock()
	ds, ok := d.datasets[key]
	d.mu.Unlock()
	if ok {
		return ds, nil
	}
	ds, err := spec.Load(width, d.cfg.TrainingDataDir)
	if err != nil {
		return ds, err
	}
	d.mu.Lock()
	d.datasets[key] = ds
	d.mu.Unlock()
	return ds, nil
}

// snapshotEvery is the snapshot spacing for a job of steps steps.
func (d *Daemon) snapshotEvery(steps uint64) uint64 {
	return max(uint64(d.cfg.SnapshotEvery), (steps+maxSnapshots-1)/maxSnapshots)
}

// train runs x's whole job the way this provider does, storing the
// result, the leaves and the snapshots. It returns the record and the
// last checkpoint.
func (d *Daemon) train(x *execJob) (leaseRecord, engine.Checkpoint, error) {
	steps := x.job.Steps()
	every := d.snapshotEvery(steps)
	rec := leaseRecord{JobID: x.job.ID, Steps: steps, Snapshots: map[uint64]string{}, Attack: x.attack}
	leaves := make([][32]byte, 0, steps)
	snapshot := func(ck engine.Checkpoint) error {
		b, err := ck.Encode()
		if err != nil {
			return err
		}
		ref, err := d.store.PutBytes(b)
		if err != nil {
			return err
		}
		rec.Snapshots[ck.Step] = ref.Hex()
		return nil
	}
	ck := engine.InitialCheckpoint(x.initial, x.job.Config.Optimizer)
	if err := snapshot(ck); err != nil {
		return rec, engine.Checkpoint{}, err
	}
	last, err := advance(x, ck, int(steps), func(c engine.Checkpoint) error {
		h, err := c.Hash()
		if err != nil {
			return err
		}
		leaves = append(leaves, h)
		if c.Step%every == 0 {
			return snapshot(c)
		}
		return nil
	})
	if err != nil {
		return rec, engine.Checkpoint{}, err
	}
	blob, err := federation.EncodeWeights(last.Weights)
	if err != nil {
		return rec, engine.Checkpoint{}, err
	}
	ref, err := d.store.PutBytes(blob)
	if err != nil {
		return rec, engine.Checkpoint{}, err
	}
	rec.ResultHash, rec.ResultSize = ref.Hex(), ref.Size
	lb := make([]byte, 0, 32*len(leaves))
	for _, l := range leaves {
		lb = append(lb, l[:]...)
	}
	lref, err := d.store.PutBytes(lb)
	if err != nil {
		return rec, engine.Checkpoint{}, err
	}
	rec.Leaves = lref.Hex()
	root := federation.CheckpointRoot(leaves)
	rec.Root = hex.EncodeToString(root[:])
	return rec, last, nil
}

// advance runs n steps of x from ck as its provider does (honestly, or
// following its attack), calling each with every new checkpoint (shared:
// clone to keep). It returns the last checkpoint.
func advance(x *execJob, ck engine.Checkpoint, n int, each func(engine.Checkpoint) error) (engine.Checkpoint, error) {
	cfg := x.job.Config
	if x.attack != AttackSkipSteps && x.attack != AttackStale {
		return engine.Resume(x.job.Spec, ck, x.data, cfg, n, func(c engine.Checkpoint, _ float32) error { return each(c) })
	}
	total := x.job.Steps()
	for i := 0; i < n; i++ {
		s := ck.Step
		var next engine.Checkpoint
		var err error
		switch {
		case x.attack == AttackSkipSteps && skipped(cfg.Seed, s):
			next = fakeStep(ck, cfg.Seed)
		case x.attack == AttackStale && s >= staleFrom(total):
			next = ck.Clone()
			next.Step = s + 1
		default:
			next, err = engine.StepFrom(x.job.Spec, ck, x.data, cfg)
		}
		if err != nil {
			return ck, err
		}
		if err := each(next); err != nil {
			return ck, err
		}
		ck = next
	}
	return ck, nil
}

// skipped reports whether a skip-steps provider fakes step s of a job
// seeded seed: a quarter of the steps, by a hash of both.
func skipped(seed, s uint64) bool {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], seed)
	binary.BigEndian.PutUint64(b[8:], s)
	h := sha256.Sum256(append([]byte("cohort/attack/skip-steps"), b[:]...))
	return h[0] < 64
}

// staleFrom is the first step a stale-checkpoint provider no longer runs.
func staleFrom(steps uint64) uint64 { return steps - steps/4 }

// fakeStep is what a skip-steps provider returns for step ck.Step without
// computing it: the previous weights plus small noise (σ = 0.01) drawn
// from the job's seed and the step, the optimizer state unchanged.
func fakeStep(ck engine.Checkpoint, seed uint64) engine.Checkpoint {
	next := ck.Clone()
	next.Step = ck.Step + 1
	g := engine.NewRNG(seed^0x736b6970, ck.Step) // "skip"
	for _, name := range next.Weights.Names() {
		d := next.Weights[name].Data
		for i := range d {
			d[i] += 0.01 * g.Normal()
		}
	}
	return next
}

// checkpointAt regenerates the encoded checkpoint of a lease after step
// steps (the leaf of step step−1; 0 is the initial checkpoint) from its
// nearest snapshot.
func (d *Daemon) checkpointAt(x *execJob, rec leaseRecord, step uint64) ([]byte, error) {
	base, baseHex := uint64(0), ""
	for at, h := range rec.Snapshots {
		if at <= step && (baseHex == "" || at > base) {
			base, baseHex = at, h
		}
	}
	if baseHex == "" {
		return nil, errors.New("no snapshot")
	}
	b, err := d.blobByHex(baseHex)
	if err != nil {
		return nil, err
	}
	if base == step {
		return b, nil
	}
	ck, err := engine.DecodeCheckpoint(b, x.job.Spec)
	if err != nil {
		return nil, err
	}
	last, err := advance(x, ck, int(step-base), func(engine.Checkpoint) error { return nil })
	if err != nil {
		return nil, err
	}
	return last.Encode()
}

// blobByHex reads a blob of the store by its hex hash.
func (d *Daemon) blobByHex(h string) ([]byte, error) {
	raw, err := hex.DecodeString(h)
	if err != nil || len(raw) != 32 {
		return nil, fmt.Errorf("bad blob hash %q", h)
	}
	ref, err := d.store.Stat([32]byte(raw))
	if err != nil {
		return nil, err
	}
	return d.store.Get(ref, 1<<31)
}

// serveTraining serves a lease's leaves and checkpoints (see the top of
// this file).
func (d *Daemon) serveTraining(w http.ResponseWriter, r *http.Request) {
	parts, ok := evidenceRequest(w, r, trainingPath, 2)
	if !ok {
		return
	}
	id, err := strconv.ParseUint(parts[0], 10, 64)
	if err != nil {
		http.Error(w, "bad job id", http.StatusBadRequest)
		return
	}
	var rec leaseRecord
	d.state.read(func(s *state) { rec, ok = s.Leases[id] })
	if !ok {
		http.Error(w, "no such training lease here", http.StatusNotFound)
		return
	}
	d.serveEvidence(w, r, parts[1:], rec, func() (*execJob, error) {
		d.mu.Lock()
		x := d.jobs[id]
		d.mu.Unlock()
		if x != nil {
			return x, nil
		}
		// After a restart: rebuilt from the chain.
		jresp, err := d.mkt.Job(r.Context(), &markettypes.QueryJobRequest{Id: id})
		if err != nil {
			return nil, err
		}
		return d.execJobFor(r.Context(), jresp.Job, rec.Attack)
	})
}

// evidenceRequest is the path of a GET under prefix split at its slashes,
// at least min parts; otherwise it answers the request (405 or 404) and
// returns false.
func evidenceRequest(w http.ResponseWriter, r *http.Request, prefix string, min int) ([]string, bool) {
	if r.Method != http.MethodGet {
		http.Error(w, "GET only", http.StatusMethodNotAllowed)
		return nil, false
	}
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, prefix), "/")
	if len(parts) < min {
		http.NotFound(w, r)
		return nil, false
	}
	return parts, true
}

// serveEvidence serves what rest asks of a trained job's evidence: its
// "leaves", or "checkpoints/{s}" (the checkpoint after step s, regenerated
// from the nearest snapshot of rec by the job exec makes executable).
func (d *Daemon) serveEvidence(w http.ResponseWriter, r *http.Request, rest []string, rec leaseRecord, exec func() (*execJob, error)) {
	var body []byte
	var err error
	switch {
	case len(rest) == 1 && rest[0] == "leaves":
		body, err = d.blobByHex(rec.Leaves)
	case len(rest) == 2 && rest[0] == "checkpoints":
		step, perr := strconv.ParseUint(rest[1], 10, 64)
		if perr != nil || step >= rec.Steps {
			http.Error(w, "step out of range", http.StatusBadRequest)
			return
		}
		x, xerr := exec()
		if xerr != nil {
			http.Error(w, xerr.Error(), http.StatusServiceUnavailable)
			return
		}
		body, err = d.checkpointAt(x, rec, step+1)
	default:
		http.NotFound(w, r)
		return
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Write(body)
}
