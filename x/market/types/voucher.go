package types

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	cryptotypes "github.com/cosmos/cosmos-sdk/crypto/types"
)

// VoucherVersion is the first line of a voucher's sign bytes.
const VoucherVersion = "cohort-inference-voucher/v1"

// ReceiptVersion is the first line of an inference receipt's sign bytes
// (the sidecar's receipts, package sidecar/serve, use this rule too).
const ReceiptVersion = "cohort-inference-receipt/v1"

// MaxReceiptField bounds the free-text fields of a receipt (ids, hashes, price).
const MaxReceiptField = 128

// VoucherSignBytes is the one rule for what a client signs to pay a
// metered lease, shared by the chain (MsgClaimUsage) and the sidecar
// (gateway signs, provider checks): the version, chain id, job id,
// provider, cumulative units and hex receipts root, one a line.
func VoucherSignBytes(chainID string, jobID uint64, provider string, cumulativeUnits uint64, receiptsRoot []byte) []byte {
	return []byte(strings.Join([]string{VoucherVersion, chainID, strconv.FormatUint(jobID, 10), provider,
		strconv.FormatUint(cumulativeUnits, 10), hex.EncodeToString(receiptsRoot)}, "\n") + "\n")
}

// SignBytes is VoucherSignBytes of v.
func (v Voucher) SignBytes() []byte {
	return VoucherSignBytes(v.ChainId, v.JobId, v.Provider, v.CumulativeUnits, v.ReceiptsRoot)
}

// Validate checks a voucher's form (not its signature).
func (v Voucher) Validate() error {
	switch {
	case v.ChainId == "" || strings.ContainsRune(v.ChainId, '\n'):
		return fmt.Errorf("%w: voucher needs a chain id", ErrInvalidVoucher)
	case v.JobId == 0:
		return fmt.Errorf("%w: voucher needs a job id", ErrInvalidVoucher)
	case v.Provider == "" || strings.ContainsRune(v.Provider, '\n'):
		return fmt.Errorf("%w: voucher needs a provider", ErrInvalidVoucher)
	case v.CumulativeUnits == 0 || v.CumulativeUnits > MaxUnits:
		return fmt.Errorf("%w: cumulative units must be 1 to %d", ErrInvalidVoucher, uint64(MaxUnits))
	case len(v.ReceiptsRoot) != 0 && len(v.ReceiptsRoot) != 32:
		return fmt.Errorf("%w: receipts root must be 32 bytes or empty", ErrInvalidVoucher)
	}
	return nil
}

// VerifyVoucher checks sig over v's sign bytes with the client's public key.
func VerifyVoucher(v Voucher, sig []byte, client cryptotypes.PubKey) error {
	if err := v.Validate(); err != nil {
		return err
	}
	if client == nil {
		return fmt.Errorf("%w: the client's account has no public key on chain yet", ErrInvalidVoucher)
	}
	if !client.VerifySignature(v.SignBytes(), sig) {
		return fmt.Errorf("%w: signature does not verify against the client's key", ErrInvalidVoucher)
	}
	return nil
}

// ReceiptSignBytes is what a provider signs for one inference request:
// the fields in a fixed order, one a line, after ReceiptVersion (the job
// id line only when the request was paid on a lease, so receipts without
// one keep their old form).
func ReceiptSignBytes(r *InferenceReceipt) []byte {
	var b strings.Builder
	for _, f := range []string{ReceiptVersion, r.Provider, r.Algo, r.Client, strconv.FormatUint(r.Seq, 10),
		strconv.FormatUint(r.ModelId, 10), strconv.FormatUint(r.VersionNumber, 10), r.RequestId, r.InputHash, r.OutputHash,
		strconv.FormatUint(r.Units, 10), r.Price, strconv.FormatInt(r.TimeUnixMs, 10)} {
		b.WriteString(f)
		b.WriteByte('\n')
	}
	if r.JobId != 0 {
		b.WriteString("job " + strconv.FormatUint(r.JobId, 10) + "\n")
	}
	return []byte(b.String())
}

// Validate checks a receipt's form (not its signature).
func (r InferenceReceipt) Validate() error {
	for name, f := range map[string]string{"client": r.Client, "request_id": r.RequestId, "price": r.Price,
		"input_hash": r.InputHash, "output_hash": r.OutputHash, "algo": r.Algo, "provider": r.Provider} {
		if len(f) > MaxReceiptField || strings.ContainsAny(f, "\n\r") {
			return fmt.Errorf("%w: receipt %s too long or holds a newline", ErrInvalidReceipt, name)
		}
	}
	for name, h := range map[string]string{"input_hash": r.InputHash, "output_hash": r.OutputHash} {
		if b, err := hex.DecodeString(h); err != nil || len(b) != 32 {
			return fmt.Errorf("%w: %s must be 32 bytes of hex", ErrInvalidReceipt, name)
		}
	}
	if r.JobId == 0 {
		return fmt.Errorf("%w: receipt names no job", ErrInvalidReceipt)
	}
	if r.Units == 0 {
		return fmt.Errorf("%w: receipt of no units", ErrInvalidReceipt)
	}
	return nil
}
