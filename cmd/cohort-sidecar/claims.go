package main

import (
	"context"
	"log/slog"
	"strconv"
	"time"

	sdk "github.com/cosmos/cosmos-sdk/types"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/cohortchain/cohort/sidecar/chain"
	"github.com/cohortchain/cohort/sidecar/serve"
	markettypes "github.com/cohortchain/cohort/x/market/types"
	verifytypes "github.com/cohortchain/cohort/x/verify/types"
)

// This file is a provider's side of settlement for inference: every
// period it claims what its clients' vouchers cover, each claim committing
// the receipts of the requests it is paid for (serve.Evidence), and it
// keeps each committed claim's receipts and inputs for the validators
// until x/verify has passed over the claim, or decided its check and the
// check can no longer be challenged.

// claimer claims usage and keeps the claims' evidence.
type claimer struct {
	c   *chain.Client
	pay *serve.Payments
	rs  *serve.ReceiptStore
	ev  *serve.Evidence
	// url is the provider's inference server, where validators fetch evidence.
	url string
	// keep is how long the evidence of a claim whose task is unknown here
	// (its transaction's events could not be read) stays.
	keep time.Duration
	log  *slog.Logger
}

// loop claims every period until ctx ends, then prunes settled receipts
// and the evidence no check needs any more.
func (cl *claimer) loop(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		cl.claimOnce(ctx)
		if err := cl.pay.Save(); err != nil {
			cl.log.Error("saving vouchers", "err", err)
		}
		if n, err := cl.pay.Prune(ctx, cl.rs); err != nil {
			cl.log.Warn("pruning settled receipts", "err", err)
		} else if n > 0 {
			cl.log.Info("pruned settled receipts", "receipts", n, "kept", cl.rs.Count())
		}
		cl.pruneEvidence(ctx)
	}
}

// pendingClaim is a voucher to claim with the receipts it commits.
type pendingClaim struct {
	serve.VoucherClaim
	commit serve.Commitment
}

// msg is the claim's transaction message.
func (p pendingClaim) msg(url string) *markettypes.MsgClaimUsage {
	v := p.Voucher
	return &markettypes.MsgClaimUsage{Provider: v.Provider, JobId: v.JobId, Voucher: v, ClientSignature: p.Signature,
		ReceiptsRoot: p.commit.Root[:], Receipts: p.commit.Count, EvidenceLocation: url}
}

// claimOnce submits the claims waiting: one MsgClaimUsage per lease whose
// best voucher covers units not claimed yet and that served requests since
// its last claim, all in one transaction (one by one when the batch
// fails). A lease with nothing served since waits: every claim commits at
// least one receipt.
func (cl *claimer) claimOnce(ctx context.Context) {
	var claims []pendingClaim
	for _, vc := range cl.pay.Claims() {
		cm, ok, err := cl.ev.Commit(vc.Voucher.JobId)
		if err != nil {
			cl.log.Error("committing receipts", "job", vc.Voucher.JobId, "err", err)
			continue
		}
		if ok {
			claims = append(claims, pendingClaim{VoucherClaim: vc, commit: cm})
		}
	}
	if len(claims) == 0 {
		return
	}
	msgs := make([]sdk.Msg, len(claims))
	for i, p := range claims {
		msgs[i] = p.msg(cl.url)
	}
	res, err := cl.c.Broadcast(ctx, msgs...)
	if err == nil {
		cl.landed(res, claims...)
		cl.log.Info("claimed usage", "leases", len(claims), "gas_used", res.GasUsed, "tx", res.TxHash)
		return
	}
	if len(claims) == 1 {
		cl.failed(ctx, claims[0], err)
		return
	}
	for i, p := range claims {
		if res, err := cl.c.Broadcast(ctx, msgs[i]); err != nil {
			cl.failed(ctx, p, err)
		} else {
			cl.landed(res, p)
			cl.log.Info("claimed usage", "leases", 1, "job", p.Voucher.JobId, "units", p.Voucher.CumulativeUnits, "gas_used", res.GasUsed)
		}
	}
}

// landed records claims that res carried: the vouchers are claimed, and
// each commitment is kept with the x/verify task that may check it.
func (cl *claimer) landed(res *sdk.TxResponse, claims ...pendingClaim) {
	tasks := map[uint64]uint64{}
	for _, ev := range typedEvents(res, &markettypes.EventUsageClaimed{}) {
		job, _ := strconv.ParseUint(ev["job_id"], 10, 64)
		tasks[job], _ = strconv.ParseUint(ev["verify_task_id"], 10, 64)
	}
	for _, p := range claims {
		cl.pay.MarkClaimed(p.Voucher.JobId, p.Voucher.CumulativeUnits)
		if err := cl.ev.Sent(p.commit, tasks[p.Voucher.JobId]); err != nil {
			cl.log.Error("recording a claim's evidence", "job", p.Voucher.JobId, "err", err)
		}
	}
}

// failed handles a refused claim: its receipts go back to the next claim,
// and what the chain has claimed already counts as claimed (a paused lease
// is tried again later).
func (cl *claimer) failed(ctx context.Context, p pendingClaim, err error) {
	cl.ev.Unsent(p.commit)
	cl.log.Warn("claiming usage failed", "job", p.Voucher.JobId, "units", p.Voucher.CumulativeUnits, "err", err)
	if l, lerr := (serve.ChainLeases{Q: markettypes.NewQueryClient(cl.c.Conn())}).Lease(ctx, p.Voucher.JobId); lerr == nil {
		cl.pay.MarkClaimed(p.Voucher.JobId, l.Settled+l.Pending)
	}
}

// pruneEvidence drops the evidence of claims no check needs: x/verify
// passed over the claim (its task is gone), or decided its check and the
// task's challenge window (params.challenge_window_blocks; 0: forever) has
// closed. The evidence of a claim whose task is pending, open or still
// challengeable stays; so does, for keep, that of a claim whose task is
// unknown here.
func (cl *claimer) pruneEvidence(ctx context.Context) {
	claims := cl.ev.SentClaims()
	if len(claims) == 0 {
		return
	}
	q := verifytypes.NewQueryClient(cl.c.Conn())
	pres, err := q.Params(ctx, &verifytypes.QueryParamsRequest{})
	if err != nil {
		cl.log.Warn("reading x/verify's parameters", "err", err)
		return
	}
	window := pres.Params.ChallengeWindowBlocks
	h, err := cl.c.LatestHeight(ctx)
	if err != nil {
		cl.log.Warn("reading the chain's height", "err", err)
		return
	}
	for _, sc := range claims {
		drop := sc.TaskID == 0 && time.Since(sc.SentAt) > cl.keep
		if sc.TaskID != 0 {
			res, err := q.Task(ctx, &verifytypes.QueryTaskRequest{Id: sc.TaskID})
			switch {
			case status.Code(err) == codes.NotFound:
				drop = true // not sampled: x/verify dropped it
			case err != nil:
				cl.log.Warn("reading a claim's verification task", "task", sc.TaskID, "err", err)
				return
			default:
				t := res.Task
				drop = t.State.Terminal() && window > 0 && h > t.DecidedHeight+window
			}
		}
		if !drop {
			continue
		}
		if err := cl.ev.Drop(sc.JobID, sc.Root); err != nil {
			cl.log.Warn("dropping a claim's evidence", "job", sc.JobID, "err", err)
		}
	}
}
