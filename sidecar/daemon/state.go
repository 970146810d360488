package daemon

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/cohortchain/cohort/sidecar/durable"
)

// state is what the daemon has done, kept in state.json so that a restart
// neither redoes work differently nor forgets a commitment it made.
type state struct {
	path string
	mu   sync.Mutex
	// Outcomes (validator) are the aggregates computed, by round key.
	Outcomes map[string]outcomeRecord `json:"outcomes"`
	// Joined (provider) are the runs joined.
	Joined map[uint64]bool `json:"joined"`
	// Submitted (provider) are the updates committed, by round key.
	Submitted map[string]string `json:"submitted"`
	// Leases (provider) are the market training leases executed, by job.
	Leases map[uint64]leaseRecord `json:"leases,omitempty"`
	// Rounds (provider) are the federated updates trained for runs that
	// verify updates, with their evidence, by "run/round" (roundEvidenceKey).
	Rounds map[string]roundRecord `json:"rounds,omitempty"`
	// Verdicts (validator) are the verification verdicts reached, by task:
	// once reached, a verdict is attested unchanged until the task is
	// decided, across restarts.
	Verdicts map[uint64]verdictRecord `json:"verdicts,omitempty"`
}

// outcomeRecord is a validator's aggregate of one round attempt. The new
// weights themselves are in the blob store under WeightsHash.
type outcomeRecord struct {
	RunID       uint64            `json:"run_id"`
	Round       uint32            `json:"round"`
	WeightsHash []byte            `json:"weights_hash"`
	Accepted    [][]byte          `json:"accepted"`
	Rejected    [][]byte          `json:"rejected"`
	Reasons     map[string]string `json:"reasons,omitempty"`
	ResultHash  []byte            `json:"result_hash"`
}

// roundKey names a round attempt: updates and aggregates of a retried
// round differ from the first attempt's.
func roundKey(run uint64, round, attempt uint32) string {
	return fmt.Sprintf("%d/%d/%d", run, round, attempt)
}

func loadState(path string) (*state, error) {
	s := &state{path: path, Outcomes: map[string]outcomeRecord{}, Joined: map[uint64]bool{}, Submitted: map[string]string{},
		Leases: map[uint64]leaseRecord{}, Rounds: map[string]roundRecord{}, Verdicts: map[uint64]verdictRecord{}}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, s); err != nil {
		return nil, fmt.Errorf("daemon: %s is corrupt: %w", path, err)
	}
	if s.Leases == nil {
		s.Leases = map[uint64]leaseRecord{}
	}
	if s.Rounds == nil {
		s.Rounds = map[string]roundRecord{}
	}
	if s.Verdicts == nil {
		s.Verdicts = map[uint64]verdictRecord{}
	}
	return s, nil
}

// update applies fn under the lock and writes the state durably.
func (s *state) update(fn func(*state)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn(s)
	b, err := json.MarshalIndent(s, "", " ")
	if err != nil {
		return err
	}
	return durable.WriteFile(s.path, b, 0o644)
}

// read calls fn under the lock.
func (s *state) read(fn func(*state)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn(s)
}
