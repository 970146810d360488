package daemon

import (
	"context"
	"errors"

	verifytypes "github.com/cohortchain/cohort/x/verify/types"
)

// reexecuteInference reaches a verdict on a task of kind
// WORK_KIND_INFERENCE: it re-executes the sampled inference requests.
// Not wired yet: it returns an error, so no verdict is attested (the task
// expires).
func (d *Daemon) reexecuteInference(ctx context.Context, t verifytypes.Task) (verifytypes.Verdict, error) {
	return verifytypes.Verdict{}, errors.New("inference re-execution is not wired")
}
