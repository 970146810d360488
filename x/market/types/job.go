package types

import (
	"crypto/sha256"
	"fmt"
	"net/url"

	sdkmath "cosmossdk.io/math"
)

// Limits on what a job and a result may hold.
const (
	MaxStringLen   = 256
	MaxMetrics     = 32
	MaxResultBytes = 1 << 40 // 1 TiB: results live off-chain; only their size is recorded.
	MaxUnits       = 1 << 40
	MaxVerifyLevel = 100
)

// Validate checks a job spec for its kind.
func (s JobSpec) Validate(kind JobKind) error {
	for name, v := range map[string]string{"model_id": s.ModelId, "model_version": s.ModelVersion, "data_requirement": s.DataRequirement,
		"hyperparameters.optimizer": s.Hyperparameters.Optimizer, "hardware.gpu_model": s.Hardware.GpuModel} {
		if len(v) > MaxStringLen {
			return fmt.Errorf("%w: spec.%s is longer than %d bytes", ErrInvalidJob, name, MaxStringLen)
		}
	}
	if len(s.ArchitectureHash) != 0 && len(s.ArchitectureHash) != sha256.Size {
		return fmt.Errorf("%w: spec.architecture_hash must be %d bytes", ErrInvalidJob, sha256.Size)
	}
	if s.ModelId == "" && len(s.ArchitectureHash) == 0 {
		return fmt.Errorf("%w: spec needs a model_id or an architecture_hash", ErrInvalidJob)
	}
	if lr := s.Hyperparameters.LearningRate; lr != "" {
		if d, err := sdkmath.LegacyNewDecFromStr(lr); err != nil || d.IsNegative() {
			return fmt.Errorf("%w: spec.hyperparameters.learning_rate %q must be a non-negative decimal", ErrInvalidJob, lr)
		}
	}
	if kind == JOB_KIND_TRAINING && s.DataRequirement == "" && s.FederatedRunId == 0 {
		return fmt.Errorf("%w: a training job needs a data_requirement or a federated_run_id", ErrInvalidJob)
	}
	return nil
}

// MaxTotalSteps bounds the steps a training result's checkpoints cover.
const MaxTotalSteps = 1 << 40

// ValidateFor checks a result for a job of kind: a training result must
// carry the evidence x/verify samples, a checkpoint root and its step count.
func (r Result) ValidateFor(kind JobKind) error {
	if err := r.Validate(); err != nil {
		return err
	}
	if kind == JOB_KIND_TRAINING && (len(r.CheckpointRoot) == 0 || r.TotalSteps == 0) {
		return fmt.Errorf("%w: a training result needs a checkpoint_root and total_steps for verification", ErrInvalidResult)
	}
	return nil
}

// Validate checks a result: a sha256 hash, a positive size, an http(s)
// location, a 32-byte checkpoint root if any, bounded steps and metrics.
func (r Result) Validate() error {
	if len(r.Hash) != sha256.Size {
		return fmt.Errorf("%w: hash must be %d bytes, got %d", ErrInvalidResult, sha256.Size, len(r.Hash))
	}
	if r.Size_ == 0 || r.Size_ > MaxResultBytes {
		return fmt.Errorf("%w: size must be 1 to %d bytes", ErrInvalidResult, uint64(MaxResultBytes))
	}
	u, err := url.Parse(r.Location)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(r.Location) > MaxStringLen {
		return fmt.Errorf("%w: location %q must be an http(s) URL of at most %d bytes", ErrInvalidResult, r.Location, MaxStringLen)
	}
	if len(r.CheckpointRoot) != 0 && len(r.CheckpointRoot) != sha256.Size {
		return fmt.Errorf("%w: checkpoint_root must be %d bytes, got %d", ErrInvalidResult, sha256.Size, len(r.CheckpointRoot))
	}
	if r.TotalSteps > MaxTotalSteps {
		return fmt.Errorf("%w: total_steps must be at most %d", ErrInvalidResult, uint64(MaxTotalSteps))
	}
	if len(r.Metrics) > MaxMetrics {
		return fmt.Errorf("%w: at most %d metrics", ErrInvalidResult, MaxMetrics)
	}
	for i, m := range r.Metrics {
		if m.Name == "" || len(m.Name) > MaxStringLen {
			return fmt.Errorf("%w: metrics[%d] needs a name of at most %d bytes", ErrInvalidResult, i, MaxStringLen)
		}
		if _, err := sdkmath.LegacyNewDecFromStr(m.Value); err != nil {
			return fmt.Errorf("%w: metrics[%d].value %q is not a decimal", ErrInvalidResult, i, m.Value)
		}
	}
	return nil
}

// Cost is price * units, or an error when it overflows.
func Cost(price sdkmath.Int, units uint64) (sdkmath.Int, error) {
	var cost sdkmath.Int
	err := func() (err error) {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("%w: %s * %d", ErrOverflow, price, units)
			}
		}()
		cost = price.Mul(sdkmath.NewIntFromUint64(units))
		return nil
	}()
	return cost, err
}

// Metered reports whether a job of kind k is paid by usage claims as it is
// served (inference) rather than on one result (training, verification).
func (k JobKind) Metered() bool { return k == JOB_KIND_INFERENCE }

// Terminal reports whether a job in state s is finished.
func (s JobState) Terminal() bool {
	return s == JOB_STATE_COMPLETED || s == JOB_STATE_FAILED || s == JOB_STATE_CANCELLED || s == JOB_STATE_EXPIRED
}
