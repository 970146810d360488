package types

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
)

// verdictDomain separates verdict hashes from every other sha256 on chain.
const verdictDomain = "cohort/verify/verdict/v1"

// SubjectLen is the length of an attestation subject: a task id.
const SubjectLen = 8

// TaskSubject is the vote-extension subject of task id: its 8 bytes,
// big-endian.
func TaskSubject(id uint64) []byte {
	return binary.BigEndian.AppendUint64(nil, id)
}

// ParseTaskSubject reads a task id from an attestation subject.
func ParseTaskSubject(subject []byte) (uint64, error) {
	if len(subject) != SubjectLen {
		return 0, fmt.Errorf("%w: %d bytes, want %d", ErrInvalidSubject, len(subject), SubjectLen)
	}
	return binary.BigEndian.Uint64(subject), nil
}

// VerdictHash is the result hash validators attest for v: sha256 of
// "cohort/verify/verdict/v1" ‖ task_id (8 bytes, big-endian) ‖ outcome
// (4 bytes, big-endian) ‖ first_divergent_step (8 bytes, big-endian).
// Validators that agree on the verdict agree on the hash; the chain
// recovers the verdict by recomputing the hash of each verdict the task
// allows (Task.Verdicts).
func VerdictHash(v Verdict) []byte {
	buf := make([]byte, 0, len(verdictDomain)+20)
	buf = append(buf, verdictDomain...)
	buf = binary.BigEndian.AppendUint64(buf, v.TaskId)
	buf = binary.BigEndian.AppendUint32(buf, uint32(v.Outcome))
	buf = binary.BigEndian.AppendUint64(buf, v.FirstDivergentStep)
	h := sha256.Sum256(buf)
	return h[:]
}

// Verdicts lists every verdict a committee may reach on t: PASS,
// UNAVAILABLE, and FAIL at each sampled step (the first divergent one).
// There are len(sampled_steps)+2, bounded by max_sample_steps.
func (t Task) Verdicts() []Verdict {
	out := make([]Verdict, 0, len(t.SampledSteps)+2)
	out = append(out, Verdict{TaskId: t.Id, Outcome: OUTCOME_PASS}, Verdict{TaskId: t.Id, Outcome: OUTCOME_UNAVAILABLE})
	for _, s := range t.SampledSteps {
		out = append(out, Verdict{TaskId: t.Id, Outcome: OUTCOME_FAIL, FirstDivergentStep: s})
	}
	return out
}

// MatchVerdict returns the verdict of t whose hash is resultHash.
func (t Task) MatchVerdict(resultHash []byte) (Verdict, error) {
	for _, v := range t.Verdicts() {
		if bytes.Equal(VerdictHash(v), resultHash) {
			return v, nil
		}
	}
	return Verdict{}, fmt.Errorf("%w: task %d, hash %X", ErrUnknownVerdict, t.Id, resultHash)
}

// State is the task state a verdict outcome leads to.
func (o Outcome) State() TaskState {
	switch o {
	case OUTCOME_PASS:
		return TASK_STATE_PASSED
	case OUTCOME_FAIL:
		return TASK_STATE_FAILED
	case OUTCOME_UNAVAILABLE:
		return TASK_STATE_UNAVAILABLE
	}
	return TASK_STATE_UNSPECIFIED
}

// Terminal reports whether a task in state s is decided or expired.
func (s TaskState) Terminal() bool {
	return s == TASK_STATE_PASSED || s == TASK_STATE_FAILED || s == TASK_STATE_UNAVAILABLE || s == TASK_STATE_EXPIRED
}

// AgainstProvider reports whether s is a verdict the provider answers for
// (slash, refund, reputation down).
func (s TaskState) AgainstProvider() bool {
	return s == TASK_STATE_FAILED || s == TASK_STATE_UNAVAILABLE
}
