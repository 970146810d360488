package types

import (
	"bytes"
	"errors"
	"fmt"
)

// Limits on what one vote extension may carry. They bound the work every
// validator does to verify and tally extensions, and the size of the block
// that carries them into the PreBlocker.
const (
	// MaxAttestations is the most attestations one vote extension may carry.
	MaxAttestations = 256
	// MaxKindLen is the longest attestation kind, in bytes.
	MaxKindLen = 64
	// MaxSubjectLen is the longest attestation subject, in bytes.
	MaxSubjectLen = 64
	// ResultHashLen is the length of a sha256 digest.
	ResultHashLen = 32
	// MaxExtensionBytes is the largest encoded vote extension accepted.
	MaxExtensionBytes = 64 * 1024
)

var (
	// ErrMalformed is returned for an extension that cannot be decoded or
	// breaks one of the limits above.
	ErrMalformed = errors.New("malformed vote extension")
)

// ValidateKind reports whether kind is a well-formed attestation kind:
// 1 to MaxKindLen bytes of lowercase letters, digits and "/_.-".
func ValidateKind(kind string) error {
	if kind == "" || len(kind) > MaxKindLen {
		return fmt.Errorf("%w: kind must be 1 to %d bytes, got %d", ErrMalformed, MaxKindLen, len(kind))
	}
	for _, c := range kind {
		ok := (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '/' || c == '_' || c == '.' || c == '-'
		if !ok {
			return fmt.Errorf("%w: kind %q has character %q outside [a-z0-9/_.-]", ErrMalformed, kind, c)
		}
	}
	return nil
}

// Validate checks one attestation's fields against the limits.
func (a *Attestation) Validate() error {
	if err := ValidateKind(a.Kind); err != nil {
		return err
	}
	if len(a.Subject) == 0 || len(a.Subject) > MaxSubjectLen {
		return fmt.Errorf("%w: subject must be 1 to %d bytes, got %d", ErrMalformed, MaxSubjectLen, len(a.Subject))
	}
	if len(a.ResultHash) != ResultHashLen {
		return fmt.Errorf("%w: result hash must be %d bytes, got %d", ErrMalformed, ResultHashLen, len(a.ResultHash))
	}
	return nil
}

// Validate checks that the extension is for height and that its
// attestations are well formed, with at most one per (kind, subject).
func (ve *VoteExtension) Validate(height int64) error {
	if ve.Height != height {
		return fmt.Errorf("%w: extension is for height %d, vote is for height %d", ErrMalformed, ve.Height, height)
	}
	if len(ve.Attestations) > MaxAttestations {
		return fmt.Errorf("%w: %d attestations, at most %d allowed", ErrMalformed, len(ve.Attestations), MaxAttestations)
	}
	seen := make(map[string]struct{}, len(ve.Attestations))
	for i := range ve.Attestations {
		a := &ve.Attestations[i]
		if err := a.Validate(); err != nil {
			return fmt.Errorf("attestation %d: %w", i, err)
		}
		key := a.Key()
		if _, dup := seen[key]; dup {
			return fmt.Errorf("%w: attestation %d repeats kind %q subject %X", ErrMalformed, i, a.Kind, a.Subject)
		}
		seen[key] = struct{}{}
	}
	return nil
}

// Key identifies the work an attestation is about: its kind and subject.
func (a *Attestation) Key() string {
	var b bytes.Buffer
	b.WriteString(a.Kind)
	b.WriteByte(0)
	b.Write(a.Subject)
	return b.String()
}

// Decode parses and validates an encoded vote extension for height. An
// empty byte string decodes to an extension without attestations.
func Decode(bz []byte, height int64) (VoteExtension, error) {
	var ve VoteExtension
	if len(bz) == 0 {
		ve.Height = height
		return ve, nil
	}
	if len(bz) > MaxExtensionBytes {
		return ve, fmt.Errorf("%w: %d bytes, at most %d allowed", ErrMalformed, len(bz), MaxExtensionBytes)
	}
	if err := ve.Unmarshal(bz); err != nil {
		return ve, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if err := ve.Validate(height); err != nil {
		return ve, err
	}
	return ve, nil
}
