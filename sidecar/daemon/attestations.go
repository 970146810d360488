package daemon

import (
	"encoding/json"
	"net/http"
	"sort"
	"strconv"

	"github.com/cohortchain/cohort/app/voteext"
	vetypes "github.com/cohortchain/cohort/app/voteext/types"
)

const attestationsPath = voteext.SidecarPath

// attestation is one result the validator offers its node, under the
// attestation kind of the module that decides it.
type attestation struct {
	kind                string
	subject, resultHash []byte
}

// setAttestations replaces what is offered of one kind (federated rounds,
// verification verdicts), leaving the other kinds' attestations as they
// are. Keys must be unique across kinds.
func (d *Daemon) setAttestations(kind string, atts map[string]attestation) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for k, a := range d.attest {
		if a.kind == kind {
			delete(d.attest, k)
		}
	}
	for k, a := range atts {
		a.kind = kind
		d.attest[k] = a
	}
}

// serveAttestations answers the node's ExtendVote: the results ready now,
// as a protobuf VoteExtension for the height asked (204 when none). It
// only reads memory, so it answers well inside ExtendVote's deadline.
func (d *Daemon) serveAttestations(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		http.Error(w, "GET only", http.StatusMethodNotAllowed)
		return
	}
	height, err := strconv.ParseInt(r.URL.Query().Get("height"), 10, 64)
	if err != nil || height <= 0 {
		http.Error(w, "height must be a positive integer", http.StatusBadRequest)
		return
	}
	d.mu.Lock()
	keys := make([]string, 0, len(d.attest))
	for k := range d.attest {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	ve := vetypes.VoteExtension{Height: height}
	for _, k := range keys {
		if len(ve.Attestations) == vetypes.MaxAttestations {
			break
		}
		a := d.attest[k]
		ve.Attestations = append(ve.Attestations, vetypes.Attestation{Kind: a.kind, Subject: a.subject, ResultHash: a.resultHash})
	}
	d.mu.Unlock()
	if len(ve.Attestations) == 0 {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	bz, err := ve.Marshal()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.Write(bz)
}

// serveStatus reports the daemon's role, account and work done, as JSON.
func (d *Daemon) serveStatus(w http.ResponseWriter, _ *http.Request) {
	var body struct {
		Role      string          `json:"role"`
		Account   string          `json:"account"`
		PublicURL string          `json:"public_url"`
		Attesting int             `json:"attesting"`
		Outcomes  int             `json:"outcomes"`
		Joined    map[uint64]bool `json:"joined,omitempty"`
		Submitted int             `json:"submitted"`
	}
	body.Role, body.Account, body.PublicURL = d.cfg.Role, d.chain.AddressString(), d.cfg.PublicURL
	d.mu.Lock()
	body.Attesting = len(d.attest)
	d.mu.Unlock()
	d.state.read(func(s *state) {
		body.Outcomes, body.Submitted = len(s.Outcomes), len(s.Submitted)
		body.Joined = map[uint64]bool{}
		for k, v := range s.Joined {
			body.Joined[k] = v
		}
	})
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(body)
}
