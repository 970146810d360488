package serve

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"sort"
	"strconv"
	"sync"
	"time"

	sdkmath "cosmossdk.io/math"

	cryptotypes "github.com/cosmos/cosmos-sdk/crypto/types"

	markettypes "github.com/cohortchain/cohort/x/market/types"

	"github.com/cohortchain/cohort/sidecar/durable"
)

// Payment for inference.
//
// A client pays a provider through an inference lease (a JOB_KIND_INFERENCE
// market job leased to the provider, escrow held by the chain) and
// vouchers: every request carries, in HeaderVoucher, a voucher the client
// (or its gateway, holding its key) signed with its account key —
// markettypes.VoucherSignBytes of (chain id, job id, this provider,
// cumulative units) — that covers everything it asked of this provider on
// the job so far, this request included. The provider checks it (the
// job is the client's lease with it, of this model; the signature is the
// client's account key's; the voucher, or a higher one it holds, covers
// the units it served plus this request's; the units bought and the
// escrow cover them) before it computes anything, and refuses with 402
// ("out of funds: top up job N") otherwise: it never serves for free. It
// keeps the highest voucher per job and claims with it on chain in
// batches (Claims, MarkClaimed; MsgClaimUsage); the chain pays cumulative
// units less what was claimed, so neither side can fake the count.
const HeaderVoucher = "X-Cohort-Voucher"

// VoucherHeader is the wire form of a voucher in HeaderVoucher: base64 of
// this JSON. The chain id and provider are implied (each provider checks
// against its own).
type VoucherHeader struct {
	JobID           uint64 `json:"job_id"`
	CumulativeUnits uint64 `json:"units"`
	Signature       []byte `json:"sig"`
}

// Encode is the header value.
func (v VoucherHeader) Encode() string {
	b, _ := json.Marshal(v)
	return base64.StdEncoding.EncodeToString(b)
}

// ParseVoucherHeader reads a HeaderVoucher value.
func ParseVoucherHeader(s string) (VoucherHeader, error) {
	var v VoucherHeader
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return v, err
	}
	return v, json.Unmarshal(b, &v)
}

// Lease is what a provider needs to know of an inference job to serve it.
type Lease struct {
	JobID    uint64
	Client   string
	Provider string
	Model    Key
	// State is the job's state name (JOB_STATE_LEASED serves).
	State string
	// Units bought; Settled and Pending units on chain.
	Units, Settled, Pending uint64
	// Escrow left and UnitCost (lease price plus licence price), in the base denom.
	Escrow, UnitCost sdkmath.Int
}

// LeaseSource looks leases up (the chain: ChainLeases).
type LeaseSource interface {
	Lease(ctx context.Context, jobID uint64) (Lease, error)
}

// PubKeySource finds an account's public key on chain.
type PubKeySource interface {
	PubKey(ctx context.Context, account string) (cryptotypes.PubKey, error)
}

// Payments checks vouchers and keeps the highest of each job for
// claiming. It is safe for concurrent use.
type Payments struct {
	// ChainID and Provider (this provider's address) are what vouchers must name.
	ChainID  string
	Provider string
	Leases   LeaseSource
	PubKeys  PubKeySource
	// TTL is how long a lease read from the chain is trusted (default 2 s).
	TTL time.Duration
	// Path, when set, is a JSON file the vouchers are kept in across restarts.
	Path string
	// Licences, when set, refuses clients the model's licence denies
	// (checked on every request, answers cached).
	Licences *Licences

	mu   sync.Mutex
	jobs map[uint64]*jobPay
	// keys caches public keys by account.
	keys map[string]cryptotypes.PubKey
}

// jobPay is one job's payment state.
type jobPay struct {
	// Best is the highest voucher, Sig its signature.
	Best uint64 `json:"best"`
	Sig  []byte `json:"sig"`
	// Served is the units served on the job (at most Best).
	Served uint64 `json:"served"`
	// Claimed is the voucher units claimed on chain; Pruned the units of
	// receipts dropped after settlement.
	Claimed uint64 `json:"claimed"`
	Pruned  uint64 `json:"pruned"`

	lease   Lease
	fetched time.Time
}

// PaymentError is a refusal to serve for want of payment (402).
type PaymentError struct{ Msg string }

func (e *PaymentError) Error() string { return e.Msg }

// Load reads the kept vouchers (no file: none).
func (p *Payments) Load() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.jobs = map[uint64]*jobPay{}
	if p.Path == "" {
		return nil
	}
	b, err := os.ReadFile(p.Path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	} else if err != nil {
		return err
	}
	var m map[string]*jobPay
	if err := json.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("serve: vouchers file %s: %w", p.Path, err)
	}
	for k, j := range m {
		id, err := strconv.ParseUint(k, 10, 64)
		if err != nil {
			continue
		}
		// What was served but not recorded is counted as served: a
		// restarted provider may refuse a little, never serve unpaid.
		j.Served = max(j.Served, j.Best)
		p.jobs[id] = j
	}
	return nil
}

// Save writes the vouchers to Path.
func (p *Payments) Save() error {
	if p.Path == "" {
		return nil
	}
	p.mu.Lock()
	m := make(map[string]jobPay, len(p.jobs))
	for id, j := range p.jobs {
		m[strconv.FormatUint(id, 10)] = *j
	}
	p.mu.Unlock()
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return durable.WriteFile(p.Path, b, 0o600)
}

func (p *Payments) job(id uint64) *jobPay {
	if p.jobs == nil {
		p.jobs = map[uint64]*jobPay{}
	}
	j := p.jobs[id]
	if j == nil {
		j = &jobPay{}
		p.jobs[id] = j
	}
	return j
}

// lease returns job id's lease, read again when older than TTL (or when
// fresh is set).
func (p *Payments) lease(ctx context.Context, id uint64, fresh bool) (Lease, error) {
	ttl := p.TTL
	if ttl <= 0 {
		ttl = 2 * time.Second
	}
	p.mu.Lock()
	j := p.job(id)
	l, at := j.lease, j.fetched
	p.mu.Unlock()
	if !fresh && !at.IsZero() && time.Since(at) < ttl {
		return l, nil
	}
	l, err := p.Leases.Lease(ctx, id)
	if err != nil {
		return Lease{}, err
	}
	p.mu.Lock()
	j.lease, j.fetched = l, time.Now()
	p.mu.Unlock()
	return l, nil
}

func (p *Payments) pubKey(ctx context.Context, account string) (cryptotypes.PubKey, error) {
	p.mu.Lock()
	pk, ok := p.keys[account]
	p.mu.Unlock()
	if ok {
		return pk, nil
	}
	pk, err := p.PubKeys.PubKey(ctx, account)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	if p.keys == nil {
		p.keys = map[string]cryptotypes.PubKey{}
	}
	p.keys[account] = pk
	p.mu.Unlock()
	return pk, nil
}

// Authorize checks the voucher header of a request of units for model k
// from client, and reserves the units: the request may be served. It
// returns the job the request is paid on. Release gives the units back
// when the request then fails.
func (p *Payments) Authorize(ctx context.Context, client string, k Key, header string, units uint64) (uint64, error) {
	if header == "" {
		return 0, &PaymentError{fmt.Sprintf("payment required: send a voucher (%s) on an inference lease of model %s with provider %s", HeaderVoucher, k, p.Provider)}
	}
	vh, err := ParseVoucherHeader(header)
	if err != nil || vh.JobID == 0 {
		return 0, fail(http.StatusBadRequest, "bad %s", HeaderVoucher)
	}
	l, err := p.lease(ctx, vh.JobID, false)
	if err != nil {
		return 0, fail(http.StatusServiceUnavailable, "reading job %d: %v", vh.JobID, err)
	}
	if l.Provider != p.Provider || l.Client != client || l.Model != k {
		return 0, fail(http.StatusForbidden, "job %d is not %s's inference lease of model %s with provider %s", vh.JobID, client, k, p.Provider)
	}
	if p.Licences != nil {
		ok, why, err := p.Licences.Allowed(ctx, k, client)
		if err != nil {
			return 0, fail(http.StatusServiceUnavailable, "checking the licence: %v", err)
		}
		if !ok {
			return 0, fail(http.StatusForbidden, "the licence of model %s denies %s: %s", k, client, why)
		}
	}
	// A voucher no higher than the best held adds nothing: it is not
	// checked (the best was), and the request is served against the best.
	p.mu.Lock()
	best := p.job(vh.JobID).Best
	p.mu.Unlock()
	if vh.CumulativeUnits > best {
		v := markettypes.Voucher{ChainId: p.ChainID, JobId: vh.JobID, Provider: p.Provider, CumulativeUnits: vh.CumulativeUnits}
		pk, err := p.pubKey(ctx, l.Client)
		if err != nil {
			return 0, fail(http.StatusForbidden, "client key: %v", err)
		}
		if err := markettypes.VerifyVoucher(v, vh.Signature, pk); err != nil {
			return 0, fail(http.StatusForbidden, "%v", err)
		}
	}
	if err := p.reserve(l, vh, units); err != nil {
		// The lease may have been topped up or resumed since it was read.
		var pe *PaymentError
		if errors.As(err, &pe) {
			if l, err2 := p.lease(ctx, vh.JobID, true); err2 == nil {
				err = p.reserve(l, vh, units)
			}
		}
		if err != nil {
			return 0, err
		}
	}
	return vh.JobID, nil
}

// reserve records vh and counts units as served when the lease, the
// vouchers and the escrow cover them.
func (p *Payments) reserve(l Lease, vh VoucherHeader, units uint64) error {
	switch l.State {
	case "JOB_STATE_LEASED":
	case "JOB_STATE_PAUSED":
		return &PaymentError{fmt.Sprintf("out of funds: top up job %d (its escrow does not cover the usage claimed)", l.JobID)}
	default:
		return &PaymentError{fmt.Sprintf("job %d is %s: open a new inference lease", l.JobID, l.State)}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	j := p.job(l.JobID)
	best := max(j.Best, vh.CumulativeUnits)
	served := j.Served + units
	switch {
	case served > l.Units:
		return &PaymentError{fmt.Sprintf("out of units: job %d bought %d units and %d are served; open a new lease", l.JobID, l.Units, j.Served)}
	case served > best:
		return &PaymentError{fmt.Sprintf("voucher for %d units does not cover %d served on job %d", best, served, l.JobID)}
	}
	// Units served beyond those paid must be covered by the escrow left.
	if served > l.Settled && l.UnitCost.IsPositive() {
		owed := l.UnitCost.Mul(sdkmath.NewIntFromUint64(served - l.Settled))
		if owed.GT(l.Escrow) {
			return &PaymentError{fmt.Sprintf("out of funds: top up job %d (escrow %s covers %s units more, %d asked)", l.JobID, l.Escrow,
				l.Escrow.Quo(l.UnitCost), served-l.Settled)}
		}
	}
	if vh.CumulativeUnits > j.Best {
		j.Best, j.Sig = vh.CumulativeUnits, vh.Signature
	}
	j.Served = served
	return nil
}

// Release gives back units reserved by Authorize for a request that was
// not served.
func (p *Payments) Release(jobID, units uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if j := p.jobs[jobID]; j != nil && j.Served >= units {
		j.Served -= units
	}
}

// VoucherClaim is a voucher to claim on chain.
type VoucherClaim struct {
	Voucher   markettypes.Voucher
	Signature []byte
}

// Claims returns the highest voucher of every job that covers units not
// claimed yet, by job id.
func (p *Payments) Claims() []VoucherClaim {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []VoucherClaim
	for id, j := range p.jobs {
		if j.Best > j.Claimed {
			out = append(out, VoucherClaim{Voucher: markettypes.Voucher{ChainId: p.ChainID, JobId: id, Provider: p.Provider,
				CumulativeUnits: j.Best}, Signature: j.Sig})
		}
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Voucher.JobId < out[b].Voucher.JobId })
	return out
}

// MarkClaimed records that a voucher of units for job was claimed (or
// that the chain has that many claimed already).
func (p *Payments) MarkClaimed(jobID, units uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	j := p.job(jobID)
	j.Claimed = max(j.Claimed, units)
}

// Prune drops the receipts of every job whose claims the chain has
// settled (its settled units, read fresh), and returns how many receipts
// were dropped.
func (p *Payments) Prune(ctx context.Context, rs *ReceiptStore) (int, error) {
	p.mu.Lock()
	ids := make([]uint64, 0, len(p.jobs))
	for id, j := range p.jobs {
		if j.Claimed > j.Pruned {
			ids = append(ids, id)
		}
	}
	p.mu.Unlock()
	total := 0
	for _, id := range ids {
		l, err := p.lease(ctx, id, true)
		if err != nil {
			return total, err
		}
		p.mu.Lock()
		pruned := p.jobs[id].Pruned
		p.mu.Unlock()
		after, n, err := rs.PruneJob(id, pruned, l.Settled)
		if err != nil {
			return total, err
		}
		p.mu.Lock()
		p.jobs[id].Pruned = after
		p.mu.Unlock()
		total += n
	}
	return total, nil
}

// ChainLeases reads leases from x/market.
type ChainLeases struct{ Q markettypes.QueryClient }

// Lease reads job id.
func (c ChainLeases) Lease(ctx context.Context, id uint64) (Lease, error) {
	res, err := c.Q.Job(ctx, &markettypes.QueryJobRequest{Id: id})
	if err != nil {
		return Lease{}, err
	}
	return LeaseOf(res.Job)
}

// LeaseOf is the Lease of an inference job.
func LeaseOf(j markettypes.Job) (Lease, error) {
	if j.Kind != markettypes.JOB_KIND_INFERENCE || j.Lease == nil {
		return Lease{}, fmt.Errorf("serve: job %d is not a leased inference job", j.Id)
	}
	k, err := ParseKey(j.Spec.ModelId + "/" + j.Spec.ModelVersion)
	if err != nil {
		return Lease{}, fmt.Errorf("serve: job %d: %w", j.Id, err)
	}
	cost := j.Lease.Price.Amount
	if !j.LicencePrice.IsNil() && j.LicencePrice.IsPositive() {
		cost = cost.Add(j.LicencePrice.Amount)
	}
	esc := j.Escrow.Amount
	if esc.IsNil() {
		esc = sdkmath.ZeroInt()
	}
	return Lease{JobID: j.Id, Client: j.Client, Provider: j.Lease.Provider, Model: k, State: j.State.String(),
		Units: j.Units, Settled: j.Lease.SettledUnits, Pending: j.Lease.PendingUnits, Escrow: esc, UnitCost: cost}, nil
}
