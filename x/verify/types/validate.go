package types

import (
	"crypto/sha256"
	"fmt"

	"cosmossdk.io/core/address"

	sdk "github.com/cosmos/cosmos-sdk/types"
)

// Bounds on reported work.
const (
	HashLen        = sha256.Size
	MaxLocationLen = 512
	// MaxTotalSteps bounds the steps (or requests) one commitment covers.
	MaxTotalSteps = 1 << 40
)

func invalidWork(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidWork}, args...)...)
}

// Validate checks reported work: a known kind with the references it
// needs, valid addresses, 32-byte hashes, a step count, and a fee with a
// payer to return it to.
func (w Work) Validate(ac address.Codec) error {
	switch w.Kind {
	case WORK_KIND_TRAINING_LEASE, WORK_KIND_INFERENCE, WORK_KIND_INFERENCE_CLAIM:
		if w.JobId == 0 {
			return invalidWork("%s needs a job id", w.Kind)
		}
	case WORK_KIND_FEDERATED_UPDATE:
		if w.RunId == 0 {
			return invalidWork("%s needs a run id", w.Kind)
		}
	default:
		return invalidWork("unknown kind %d", w.Kind)
	}
	if _, err := parseAddr(ac, w.Provider); err != nil {
		return invalidWork("provider: %v", err)
	}
	if w.Client != "" {
		if _, err := parseAddr(ac, w.Client); err != nil {
			return invalidWork("client: %v", err)
		}
	}
	if len(w.ResultHash) != HashLen {
		return invalidWork("result_hash must be %d bytes, got %d", HashLen, len(w.ResultHash))
	}
	if w.Kind != WORK_KIND_INFERENCE && len(w.CheckpointRoot) != HashLen {
		return invalidWork("checkpoint_root must be %d bytes, got %d", HashLen, len(w.CheckpointRoot))
	}
	if w.TotalSteps == 0 || w.TotalSteps > MaxTotalSteps {
		return invalidWork("total_steps must be 1 to %d", uint64(MaxTotalSteps))
	}
	if w.VerificationLevel > MaxJobLevel {
		return invalidWork("verification_level must be at most %d", MaxJobLevel)
	}
	if w.Kind == WORK_KIND_INFERENCE_CLAIM && w.Location == "" {
		return invalidWork("%s needs the provider's evidence location", w.Kind)
	}
	if len(w.Location) > MaxLocationLen {
		return invalidWork("location longer than %d bytes", MaxLocationLen)
	}
	if err := w.Fee.Validate(); err != nil {
		return invalidWork("fee: %v", err)
	}
	if w.Fee.IsPositive() {
		if _, err := parseAddr(ac, w.FeePayer); err != nil {
			return invalidWork("fee_payer: %v", err)
		}
	}
	return nil
}

func parseAddr(ac address.Codec, s string) (sdk.AccAddress, error) {
	bz, err := ac.StringToBytes(s)
	if err != nil {
		return nil, err
	}
	if len(bz) == 0 {
		return nil, fmt.Errorf("empty address")
	}
	return bz, nil
}
