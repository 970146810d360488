package daemon

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	vetypes "github.com/cohortchain/cohort/app/voteext/types"
	fedtypes "github.com/cohortchain/cohort/x/federated/types"
	verifytypes "github.com/cohortchain/cohort/x/verify/types"
)

func TestServeAttestations(t *testing.T) {
	d := &Daemon{attest: map[string]attestation{}}
	get := func(q string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		d.serveAttestations(w, httptest.NewRequest(http.MethodGet, attestationsPath+q, nil))
		return w
	}
	if w := get("?height=5"); w.Code != http.StatusNoContent {
		t.Fatalf("nothing ready: got %d, want 204", w.Code)
	}
	for _, q := range []string{"", "?height=x", "?height=0", "?height=-3"} {
		if w := get(q); w.Code != http.StatusBadRequest {
			t.Fatalf("%q: got %d, want 400", q, w.Code)
		}
	}
	h1, h2 := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	// A verdict and two rounds coexist; replacing one kind leaves the other.
	d.setAttestations(verifytypes.AttestationKind, map[string]attestation{
		verifyKey(5): {subject: verifytypes.TaskSubject(5), resultHash: h1},
	})
	d.setAttestations(fedtypes.AttestationKind, map[string]attestation{
		roundKey(7, 7, 0): {subject: fedtypes.Subject(7, 7), resultHash: h1},
	})
	d.setAttestations(fedtypes.AttestationKind, map[string]attestation{
		roundKey(2, 1, 0): {subject: fedtypes.Subject(2, 1), resultHash: h2},
		roundKey(1, 3, 0): {subject: fedtypes.Subject(1, 3), resultHash: h1},
	})
	w := get("?height=9")
	if w.Code != http.StatusOK {
		t.Fatalf("got %d", w.Code)
	}
	// What the node's HTTPSource decodes: valid for the height asked, in a
	// fixed order, of the federated-round kind.
	ve, err := vetypes.Decode(w.Body.Bytes(), 9)
	if err != nil {
		t.Fatal(err)
	}
	if len(ve.Attestations) != 3 || ve.Attestations[0].Kind != fedtypes.AttestationKind ||
		!bytes.Equal(ve.Attestations[0].ResultHash, h1) || !bytes.Equal(ve.Attestations[1].ResultHash, h2) ||
		ve.Attestations[2].Kind != verifytypes.AttestationKind || !bytes.Equal(ve.Attestations[2].Subject, verifytypes.TaskSubject(5)) {
		t.Fatalf("unexpected extension %+v", ve)
	}
	if _, err := vetypes.Decode(w.Body.Bytes(), 10); err == nil {
		t.Fatal("an extension for height 9 decoded for height 10")
	}
}

func TestStateSurvivesReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	s, err := loadState(path)
	if err != nil {
		t.Fatal(err)
	}
	rec := outcomeRecord{RunID: 1, Round: 2, WeightsHash: []byte{9}, Accepted: [][]byte{{1}}, ResultHash: []byte{7}}
	if err := s.update(func(s *state) {
		s.Outcomes[roundKey(1, 2, 0)] = rec
		s.Joined[1] = true
		s.Submitted[roundKey(1, 2, 0)] = "ab"
	}); err != nil {
		t.Fatal(err)
	}
	again, err := loadState(path)
	if err != nil {
		t.Fatal(err)
	}
	got := again.Outcomes[roundKey(1, 2, 0)]
	if !again.Joined[1] || again.Submitted[roundKey(1, 2, 0)] != "ab" || !bytes.Equal(got.ResultHash, rec.ResultHash) || got.Round != 2 {
		t.Fatalf("reloaded %+v", again)
	}
}
