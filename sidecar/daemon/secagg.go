package daemon

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/cohortchain/cohort/sidecar/aggregate"
	"github.com/cohortchain/cohort/sidecar/blobstore"
	"github.com/cohortchain/cohort/sidecar/engine"
	"github.com/cohortchain/cohort/sidecar/federation"
	"github.com/cohortchain/cohort/sidecar/secagg"
	"github.com/cohortchain/cohort/sidecar/tensor"
	fedtypes "github.com/cohortchain/cohort/x/federated/types"
)

// Secure aggregation (PRIVACY_MODE_SECURE_AGGREGATION runs; see
// federation.AggregateSecAgg and x/federated/keeper/secagg.go).
//
// A provider keeps its secagg.Client, which holds its private keys, in
// memory only: the keys must never touch disk. A provider restarted in the
// middle of a round has lost them and drops out of that round; the
// protocol tolerates that (up to selected − T drop-outs), and the chain
// records the miss.

// secAggProviderStep does this provider's part of the current step of a
// secure-aggregation round: advertise its keys, share them, submit its
// masked update, or reveal its unmasking shares. Each message is stored in
// the blob store and committed on-chain once; what was already sent is
// read from the chain, so a step is never sent twice.
func (d *Daemon) secAggProviderStep(ctx context.Context, run fedtypes.Run, round fedtypes.Round, key string) error {
	me := d.account()
	id, err := federation.SecAggID(round, me)
	if err != nil {
		return err
	}
	sent := func(stage fedtypes.SecAggStage) (bool, error) {
		resp, err := d.fed.SecAggMessages(ctx, &fedtypes.QuerySecAggMessagesRequest{RunId: run.Id, Round: round.Number, Stage: stage})
		if err != nil {
			return false, err
		}
		return slices.ContainsFunc(resp.Messages, func(m fedtypes.SecAggMessage) bool { return m.Participant == me }), nil
	}
	uresp, err := d.fed.Updates(ctx, &fedtypes.QueryUpdatesRequest{RunId: run.Id, Round: round.Number})
	if err != nil {
		return err
	}
	submitted := slices.ContainsFunc(uresp.Updates, func(u fedtypes.Update) bool { return u.Participant == me })
	stage := round.SecaggStage
	if d.cfg.Attack == AttackDropAfterShare && stage >= fedtypes.SECAGG_STAGE_MASKED_INPUT {
		return nil
	}
	// Send once, and only after the previous step: everyone selected may
	// advertise, advertisers share, sharers submit, submitters unmask.
	switch stage {
	case fedtypes.SECAGG_STAGE_ADVERTISE:
		if done, err := sent(stage); err != nil || done {
			return err
		}
	case fedtypes.SECAGG_STAGE_SHARE_KEYS:
		if done, err := sent(stage); err != nil || done {
			return err
		}
		if took, err := sent(fedtypes.SECAGG_STAGE_ADVERTISE); err != nil || !took {
			return err
		}
	case fedtypes.SECAGG_STAGE_MASKED_INPUT:
		// Also on-chain when it was submitted before a restart (and the
		// keys went with it).
		if submitted {
			return nil
		}
		if took, err := sent(fedtypes.SECAGG_STAGE_SHARE_KEYS); err != nil || !took {
			return err
		}
	case fedtypes.SECAGG_STAGE_UNMASK:
		if done, err := sent(stage); err != nil || done || !submitted {
			return err
		}
	}
	client := d.secAggClient(key)
	if stage == fedtypes.SECAGG_STAGE_ADVERTISE {
		// The session's vector length is the model's parameter count.
		_, global, err := d.runWeights(ctx, run)
		if err != nil {
			return err
		}
		if client, err = secagg.NewClient(federation.SecAggParams(round, len(aggregate.Flatten(global))), id, nil); err != nil {
			return err
		}
		d.mu.Lock()
		d.secagg[key] = client
		d.mu.Unlock()
	}
	if client == nil {
		d.logOnce(key+"/secagg-lost", "this provider's secure-aggregation keys for the round were lost (restart); it drops out of the round",
			"run", run.Id, "round", round.Number)
		return nil
	}
	var blob []byte
	switch stage {
	case fedtypes.SECAGG_STAGE_ADVERTISE:
		ad, err := client.AdvertiseKeys()
		if err != nil {
			return err
		}
		blob, err = ad.Marshal()
		if err != nil {
			return err
		}
	case fedtypes.SECAGG_STAGE_SHARE_KEYS:
		msgs, err := fetchSecAgg(ctx, d.fed, d.fetchCommitted, round, fedtypes.SECAGG_STAGE_ADVERTISE)
		if err != nil {
			return err
		}
		keys, err := decodeSecAgg(round, msgs, adFrom)
		if err != nil {
			return err
		}
		sk, err := client.ShareKeys(keys)
		if err != nil {
			return err
		}
		if blob, err = sk.Marshal(); err != nil {
			return err
		}
	case fedtypes.SECAGG_STAGE_MASKED_INPUT:
		spec, global, err := d.runWeights(ctx, run)
		if err != nil {
			return err
		}
		return d.contributeMasked(ctx, run, round, key, spec, global, client)
	case fedtypes.SECAGG_STAGE_UNMASK:
		req := &secagg.UnmaskRequest{Session: federation.SecAggSession(round)}
		for _, u := range uresp.Updates {
			sid, err := federation.SecAggID(round, u.Participant)
			if err != nil {
				return err
			}
			req.Survivors = append(req.Survivors, sid)
		}
		slices.Sort(req.Survivors)
		ans, err := client.Unmask(req)
		if err != nil {
			return err
		}
		if blob, err = ans.Marshal(); err != nil {
			return err
		}
	default:
		return fmt.Errorf("unknown secure-aggregation step %s", stage)
	}
	ref, err := d.store.PutBytes(blob)
	if err != nil {
		return err
	}
	msg := &fedtypes.MsgSubmitSecAggMessage{Participant: me, RunId: run.Id, Round: round.Number, Stage: stage,
		Hash: ref.Hash[:], Size_: uint64(ref.Size), Location: d.locationOf(ref)}
	bctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if _, err := d.send(bctx, msg); err != nil {
		return fmt.Errorf("sending %s: %w", stage, err)
	}
	d.log.Info("sent secure-aggregation message", "run", run.Id, "round", round.Number, "step", stage, "bytes", ref.Size)
	return nil
}

// runWeights returns a run's model spec and current global weights.
func (d *Daemon) runWeights(ctx context.Context, run fedtypes.Run) (engine.Spec, tensor.Set, error) {
	spec, err := d.specOf(ctx, run)
	if err != nil {
		return spec, nil, err
	}
	global, err := d.fetchWeights(ctx, spec, run.GlobalWeightsHash, run.GlobalWeightsLocation)
	return spec, global, err
}

// contributeMasked trains this provider's update, masks it and commits to
// the masked input as its update of the round.
func (d *Daemon) contributeMasked(ctx context.Context, run fedtypes.Run, round fedtypes.Round, key string,
	spec engine.Spec, global tensor.Set, client *secagg.Client,
) error {
	me := d.account()
	msgs, err := fetchSecAgg(ctx, d.fed, d.fetchCommitted, round, fedtypes.SECAGG_STAGE_SHARE_KEYS)
	if err != nil {
		return err
	}
	shares, err := decodeSecAgg(round, msgs, sharesFrom)
	if err != nil {
		return err
	}
	cfg, err := federation.LocalConfigOf(run.Spec)
	if err != nil {
		return err
	}
	start := time.Now()
	res, err := federation.LocalUpdate(spec, global, d.cfg.Data, cfg, federation.TrainingSeed(round.Seed, me))
	if err != nil {
		return err
	}
	x, err := federation.SecAggInput(res.Update, res.Samples)
	if err != nil {
		return err
	}
	masked, err := client.MaskedInput(shares, x)
	if err != nil {
		return err
	}
	blob, err := masked.Marshal()
	if err != nil {
		return err
	}
	ref, err := d.store.PutBytes(blob)
	if err != nil {
		return err
	}
	msg := &fedtypes.MsgSubmitUpdate{Participant: me, RunId: run.Id, Round: round.Number, Hash: ref.Hash[:],
		Size_: uint64(ref.Size), Location: d.locationOf(ref), SampleCount: uint64(res.Samples), CheckpointRoot: res.CheckpointRoot[:]}
	bctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if _, err := d.send(bctx, msg); err != nil {
		return fmt.Errorf("submitting masked update: %w", err)
	}
	d.log.Info("submitted masked update", "run", run.Id, "round", round.Number, "update", ref.String(), "bytes", ref.Size,
		"samples", res.Samples, "train", time.Since(start))
	return d.state.update(func(s *state) { s.Submitted[key] = ref.Hex() })
}

// secAggClient is this provider's client of the round key, nil if this
// process never advertised in it.
func (d *Daemon) secAggClient(key string) *secagg.Client {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.secagg == nil {
		d.secagg = map[string]*secagg.Client{}
	}
	return d.secagg[key]
}

// committedBlob is a fetched blob with the participant that committed to it.
type committedBlob struct {
	participant string
	blob        []byte
}

// BlobFetcher gets a blob committed on-chain by its hash and size from its
// location, and verifies it (errors wrap blobstore.ErrCorrupt or
// blobstore.ErrTooLarge when the bytes do not match the commitment).
type BlobFetcher func(ctx context.Context, hash []byte, size uint64, location string) ([]byte, error)

// fetchSecAgg fetches and verifies every message of one step of a round,
// in selection order.
func fetchSecAgg(ctx context.Context, q fedtypes.QueryClient, fetch BlobFetcher, round fedtypes.Round, stage fedtypes.SecAggStage) ([]committedBlob, error) {
	resp, err := q.SecAggMessages(ctx, &fedtypes.QuerySecAggMessagesRequest{RunId: round.RunId, Round: round.Number, Stage: stage})
	if err != nil {
		return nil, err
	}
	out := make([]committedBlob, 0, len(resp.Messages))
	for _, m := range resp.Messages {
		b, err := fetch(ctx, m.Hash, m.Size_, m.Location)
		if err != nil {
			return nil, fmt.Errorf("%s message of %s: %w", stage, m.Participant, err)
		}
		out = append(out, committedBlob{participant: m.Participant, blob: b})
	}
	return out, nil
}

// fetchCommitted is the daemon's BlobFetcher: its own store first, then
// the location.
func (d *Daemon) fetchCommitted(ctx context.Context, hash []byte, size uint64, location string) ([]byte, error) {
	var ref blobstore.Ref
	copy(ref.Hash[:], hash)
	ref.Size = int64(size)
	return d.fetchRef(ctx, ref, location, int64(size))
}

// decodeSecAgg decodes committed messages of one kind and checks that each
// was sent under its committer's secagg id (from reads the sender).
func decodeSecAgg[M any, P interface {
	*M
	Unmarshal([]byte) error
}](round fedtypes.Round, blobs []committedBlob, from func(P) secagg.ClientID) ([]P, error) {
	out := make([]P, 0, len(blobs))
	for _, b := range blobs {
		m := P(new(M))
		if err := m.Unmarshal(b.blob); err != nil {
			return nil, fmt.Errorf("message of %s: %w", b.participant, err)
		}
		if err := federation.CheckSender(round, b.participant, from(m)); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// Senders of the secagg messages, for decodeSecAgg.
func adFrom(m *secagg.AdvertiseKeys) secagg.ClientID    { return m.From }
func sharesFrom(m *secagg.ShareKeys) secagg.ClientID    { return m.From }
func answerFrom(m *secagg.UnmaskShares) secagg.ClientID { return m.From }

// FetchSecAggRound fetches, verifies and decodes everything the chain
// recorded of a secure-aggregation round: every step's messages and the
// masked updates, each checked to come from the secagg id of the
// participant that committed to it. Validators and the replay call it.
func FetchSecAggRound(ctx context.Context, q fedtypes.QueryClient, fetch BlobFetcher, round fedtypes.Round) (federation.SecAggRound, error) {
	var r federation.SecAggRound
	ads, err := fetchSecAgg(ctx, q, fetch, round, fedtypes.SECAGG_STAGE_ADVERTISE)
	if err != nil {
		return r, err
	}
	if r.Keys, err = decodeSecAgg(round, ads, adFrom); err != nil {
		return r, err
	}
	shares, err := fetchSecAgg(ctx, q, fetch, round, fedtypes.SECAGG_STAGE_SHARE_KEYS)
	if err != nil {
		return r, err
	}
	if r.Shares, err = decodeSecAgg(round, shares, sharesFrom); err != nil {
		return r, err
	}
	answers, err := fetchSecAgg(ctx, q, fetch, round, fedtypes.SECAGG_STAGE_UNMASK)
	if err != nil {
		return r, err
	}
	if r.Answers, err = decodeSecAgg(round, answers, answerFrom); err != nil {
		return r, err
	}
	uresp, err := q.Updates(ctx, &fedtypes.QueryUpdatesRequest{RunId: round.RunId, Round: round.Number})
	if err != nil {
		return r, err
	}
	for _, u := range uresp.Updates {
		b, err := fetch(ctx, u.Hash, u.Size_, u.Location)
		if err != nil {
			return r, fmt.Errorf("masked update of %s: %w", u.Participant, err)
		}
		m := new(secagg.MaskedInput)
		if err := m.Unmarshal(b); err != nil {
			return r, fmt.Errorf("masked update of %s: %w", u.Participant, err)
		}
		if err := federation.CheckSender(round, u.Participant, m.From); err != nil {
			return r, err
		}
		r.Masked = append(r.Masked, federation.MaskedUpdate{Hash: u.Hash, Samples: u.SampleCount, Input: m})
	}
	return r, nil
}

// ReplaySecAggRound re-aggregates a finalised secure-aggregation round
// from what the chain recorded of it, with the validators' functions, and
// compares the result with the round's new weights. The updates
// themselves cannot be recomputed or even seen: each is masked with
// randomness only its provider held (Replayed.Private is set).
func ReplaySecAggRound(ctx context.Context, q fedtypes.QueryClient, fetch BlobFetcher, global tensor.Set, run fedtypes.Run, round fedtypes.Round) (Replayed, error) {
	out := Replayed{Private: true}
	msgs, err := FetchSecAggRound(ctx, q, fetch, round)
	if err != nil {
		return out, fmt.Errorf("replay: round %d: %w", round.Number, err)
	}
	start := time.Now()
	o, err := federation.AggregateSecAgg(global, round, msgs)
	if err != nil {
		return out, fmt.Errorf("replay: round %d: %w", round.Number, err)
	}
	out.Aggregate, out.Outcome = time.Since(start), o
	if !bytes.Equal(o.WeightsHash[:], round.NewWeightsHash) {
		return out, fmt.Errorf("replay: round %d: weights hash %X in-process, %X on-chain", round.Number, o.WeightsHash, round.NewWeightsHash)
	}
	return out, nil
}
