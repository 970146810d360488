package gateway

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/cohortchain/cohort/sidecar/blobstore"
	"github.com/cohortchain/cohort/sidecar/serve"
)

// The redundancy rule: after a request is answered, with probability
//
//	rate(reputation) = MinRate + (MaxRate − MinRate) × (1 − reputation)
//
// (the reputation of the provider that answered, clamped to [0, 1]) the
// same input goes to a second provider serving the model, chosen at
// random among the others (not by the routing rule: a provider must not
// escape checks by being slow, dear or new). The check runs after the
// client has its answer (it adds no latency) and is billed to the
// gateway's own client id (Config.CheckClient), or, for a client the
// gateway pays for, to that client's lease with the second provider. The two receipts' output
// hashes are compared; the engine is deterministic, so honest providers
// agree bit for bit. A mismatch is kept with both signed receipts (each
// verified against its provider's key: a receipt that does not verify is
// itself evidence against its sender); when a third provider serves the
// model it is asked too, and the one of the two it disagrees with is
// named the suspect. Mismatches are counted in
// cohort_gateway_verification_mismatches_total, listed at GET
// /v1/mismatches and appended to Config.MismatchLog when set. Deciding
// which of the two was wrong (re-execution by a verification committee,
// x/verify) is for the chain.

// Mismatch is a redundancy check whose outputs differed.
type Mismatch struct {
	Time      time.Time     `json:"time"`
	Model     string        `json:"model"`
	InputHash string        `json:"input_hash"`
	Primary   serve.Receipt `json:"primary"`
	Secondary serve.Receipt `json:"secondary"`
	// PrimaryValid and SecondaryValid say whether each receipt's signature
	// verifies against its provider's key.
	PrimaryValid   bool `json:"primary_valid"`
	SecondaryValid bool `json:"secondary_valid"`
	// Arbiter is a third provider's receipt for the same input, when one
	// could be asked; Suspect is the provider whose output it does not
	// match ("" when it matches neither or there is none).
	Arbiter *serve.Receipt `json:"arbiter,omitempty"`
	Suspect string         `json:"suspect,omitempty"`
	// InputLocation is where the input blob is served for the
	// verification committee; Tasks are the x/verify tasks the reports
	// opened, ReportError why a report failed.
	InputLocation string   `json:"input_location,omitempty"`
	Tasks         []uint64 `json:"tasks,omitempty"`
	ReportError   string   `json:"report_error,omitempty"`
}

// Reporter reports a provider's receipt as wrong on chain
// (MsgReportMismatch), with where its input is served and the output the
// other provider gave; it returns the x/verify task opened.
type Reporter interface {
	Report(ctx context.Context, rc serve.Receipt, inputLocation, otherOutputHash string) (uint64, error)
}

// report puts the input in the gateway's blob store and reports the
// suspect: the provider the arbiter disagreed with, or, with no arbiter
// to tell, both (the committee's re-execution decides; the honest one
// passes). A receipt whose signature does not verify cannot be reported
// (the chain would refuse it) and is only kept.
func (g *Gateway) report(m *Mismatch, input []byte) {
	if g.cfg.Blobs == nil {
		m.ReportError = "no blob store to serve the input from"
		return
	}
	ref, err := g.cfg.Blobs.PutBytes(input)
	if err != nil {
		m.ReportError = err.Error()
		return
	}
	m.InputLocation = strings.TrimSuffix(g.cfg.BlobURL, "/") + blobstore.BlobPath + ref.Hex()
	type suspect struct {
		rc    serve.Receipt
		valid bool
		other string
	}
	var list []suspect
	switch {
	case m.Suspect == m.Primary.Provider:
		list = []suspect{{m.Primary, m.PrimaryValid, m.Secondary.OutputHash}}
	case m.Suspect == m.Secondary.Provider:
		list = []suspect{{m.Secondary, m.SecondaryValid, m.Primary.OutputHash}}
	case m.Arbiter == nil:
		list = []suspect{{m.Primary, m.PrimaryValid, m.Secondary.OutputHash}, {m.Secondary, m.SecondaryValid, m.Primary.OutputHash}}
	}
	for _, s := range list {
		if !s.valid || s.rc.JobID == 0 {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		id, err := g.cfg.Reporter.Report(ctx, s.rc, m.InputLocation, s.other)
		cancel()
		if err != nil {
			g.metrics.Reports.WithLabelValues("error").Inc()
			m.ReportError = err.Error()
			g.log.Error("reporting a redundancy mismatch on chain failed", "provider", s.rc.Provider, "err", err)
			continue
		}
		g.metrics.Reports.WithLabelValues("ok").Inc()
		m.Tasks = append(m.Tasks, id)
		g.log.Warn("redundancy mismatch reported on chain", "provider", s.rc.Provider, "request", s.rc.RequestID, "task", id)
	}
}

// checkRate is the redundancy rule's sampling probability.
func checkRate(minRate, maxRate, reputation float64) float64 {
	r := max(0, min(1, reputation))
	return max(0, min(1, minRate+(maxRate-minRate)*(1-r)))
}

// mismatchLog keeps the most recent mismatches in memory and appends every
// one to a file.
type mismatchLog struct {
	mu   sync.Mutex
	list []Mismatch
	keep int
	path string
}

func (l *mismatchLog) add(m Mismatch) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.list = append(l.list, m)
	if len(l.list) > l.keep {
		l.list = l.list[len(l.list)-l.keep:]
	}
	if l.path != "" {
		if f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644); err == nil {
			b, _ := json.Marshal(m)
			f.Write(append(b, '\n'))
			f.Close()
		}
	}
}

func (l *mismatchLog) all() []Mismatch {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Mismatch(nil), l.list...)
}

// maybeCheck samples a redundancy check of an answered request.
func (g *Gateway) maybeCheck(k serve.Key, body []byte, first *provider, primary serve.Receipt, client string) {
	first.mu.Lock()
	rep := first.Reputation
	first.mu.Unlock()
	g.rmu.Lock()
	draw := g.rng.Float64()
	g.rmu.Unlock()
	if draw >= checkRate(g.cfg.MinCheckRate, g.cfg.MaxCheckRate, rep) {
		return
	}
	// A paying client's checks are paid on its leases (its gateway checks
	// for it); others are billed to CheckClient.
	checkClient := g.cfg.CheckClient
	exclude := map[*provider]bool{}
	if g.cfg.Payers[client] != nil {
		checkClient, exclude = client, g.unpaid(k, client)
	}
	exclude[first] = true
	cands := g.table.candidates(k, exclude)
	second := g.table.pickAny(cands)
	if second == nil {
		g.metrics.Checks.WithLabelValues("skipped").Inc()
		return
	}
	select {
	case g.checkSem <- struct{}{}:
	default:
		g.metrics.Checks.WithLabelValues("skipped").Inc()
		return
	}
	g.checks.Add(1)
	go func() {
		defer func() { <-g.checkSem; g.checks.Done() }()
		ctx, cancel := context.WithTimeout(context.Background(), g.cfg.TryTimeout)
		defer cancel()
		res, err := g.call(ctx, second, k, body, checkClient, primary.RequestID, primary.Units)
		if err != nil {
			g.metrics.Checks.WithLabelValues("error").Inc()
			return
		}
		if res.receipt.OutputHash == primary.OutputHash && res.receipt.InputHash == primary.InputHash {
			g.metrics.Checks.WithLabelValues("match").Inc()
			return
		}
		g.metrics.Checks.WithLabelValues("mismatch").Inc()
		g.metrics.Mismatches.Inc()
		m := Mismatch{Time: g.cfg.Now(), Model: k.String(), InputHash: primary.InputHash, Primary: primary, Secondary: res.receipt,
			PrimaryValid: serve.VerifyReceipt(&primary) == nil, SecondaryValid: serve.VerifyReceipt(&res.receipt) == nil}
		exclude[second] = true
		if third := g.table.pickAny(g.table.candidates(k, exclude)); third != nil {
			actx, cancel := context.WithTimeout(context.Background(), g.cfg.TryTimeout)
			if ar, err := g.call(actx, third, k, body, checkClient, primary.RequestID, primary.Units); err == nil {
				m.Arbiter = &ar.receipt
				switch ar.receipt.OutputHash {
				case primary.OutputHash:
					m.Suspect = res.receipt.Provider
				case res.receipt.OutputHash:
					m.Suspect = primary.Provider
				}
			}
			cancel()
		}
		if g.cfg.Reporter != nil {
			g.report(&m, body)
		}
		g.mismatches.add(m)
		g.log.Warn("redundancy check: providers disagree", "model", k.String(), "request", primary.RequestID,
			"primary", primary.Provider, "secondary", res.receipt.Provider, "suspect", m.Suspect)
	}()
}

// newRand is a seeded or random source for sampling and routing.
func newRand(seed uint64) *rand.Rand {
	if seed == 0 {
		return rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}
