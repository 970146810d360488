// Package voteext carries validators' sidecar attestations into the chain
// through ABCI++ vote extensions.
//
// The flow, for a block at height H with vote extensions enabled:
//
//  1. ExtendVote (each validator, height H): ask the local AttestationSource
//     for what it has ready, with a deadline; an error or a miss gives an empty
//     extension, never a stalled vote.
//  2. VerifyVoteExtension (each validator, for every peer's vote): reject
//     extensions that do not decode or break the limits in types.
//  3. PrepareProposal (proposer, height H+1): put the extended commit of H,
//     with its signatures, first in the block (see proposal.go).
//  4. ProcessProposal (every validator, H+1): check that injected commit's
//     signatures and power against the last commit.
//  5. PreBlock (every validator, H+1): tally attestations by voting power and
//     hand every (kind, subject) that more than 2/3 of the power agrees on to
//     the Handler registered for its kind (see tally.go).
package voteext

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/cohortchain/cohort/app/voteext/types"
)

// AttestationSource is where a validator's node gets the attestations its
// sidecar has ready for the vote at a height. Implementations must honour
// ctx's deadline; ExtendVote abandons a call that overruns it.
type AttestationSource interface {
	Attestations(ctx context.Context, height int64) ([]types.Attestation, error)
}

// NoSource is the AttestationSource of a node without a sidecar: it never
// has anything to attest.
type NoSource struct{}

// Attestations returns nothing.
func (NoSource) Attestations(context.Context, int64) ([]types.Attestation, error) { return nil, nil }

// SidecarPath is the HTTP path on the sidecar that serves attestations.
const SidecarPath = "/v1/attestations"

// HTTPSource asks a cohort-sidecar over HTTP: GET {Base}/v1/attestations?height=H
// answers with a protobuf-encoded types.VoteExtension (Content-Type
// application/x-protobuf), or 204 when nothing is ready.
type HTTPSource struct {
	Base   string
	Client *http.Client
}

// NewHTTPSource returns a source for the sidecar listening at base (for
// example "http://127.0.0.1:7000").
func NewHTTPSource(base string) (*HTTPSource, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("sidecar address %q must be an http(s) URL with a host", base)
	}
	return &HTTPSource{Base: u.String(), Client: &http.Client{}}, nil
}

// Attestations fetches and decodes what the sidecar has for height.
func (s *HTTPSource) Attestations(ctx context.Context, height int64) ([]types.Attestation, error) {
	u := s.Base + SidecarPath + "?height=" + strconv.FormatInt(height, 10)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := s.Client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusNoContent:
		return nil, nil
	case http.StatusOK:
	default:
		return nil, fmt.Errorf("sidecar answered %s", resp.Status)
	}
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, io.LimitReader(resp.Body, types.MaxExtensionBytes+1)); err != nil {
		return nil, err
	}
	ve, err := types.Decode(buf.Bytes(), height)
	if err != nil {
		return nil, fmt.Errorf("sidecar: %w", err)
	}
	return ve.Attestations, nil
}

// DefaultSourceTimeout is how long ExtendVote waits for the sidecar.
const DefaultSourceTimeout = 300 * time.Millisecond
