package serve

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	sdkmath "cosmossdk.io/math"

	"github.com/cosmos/cosmos-sdk/crypto/keys/secp256k1"
	cryptotypes "github.com/cosmos/cosmos-sdk/crypto/types"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/cohortchain/cohort/sidecar/merkle"
	markettypes "github.com/cohortchain/cohort/x/market/types"
)

// paidReceipt is s's signed receipt of a paid request of job with input x.
func paidReceipt(t testing.TB, s *Signer, job, seq uint64, x []float32) Receipt {
	t.Helper()
	rc := Receipt{Version: ReceiptVersion, Provider: s.Address(), Algo: s.Algo(), PubKey: s.PubKey(), Client: "cohort1client",
		Seq: seq, ModelID: 1, Number: 1, RequestID: fmt.Sprintf("job%d-req%d", job, seq), InputHash: hexHash(HashFloats(x)),
		OutputHash: hexHash(HashFloats([]float32{float32(seq)})), Units: 1, Price: "10ucohort", TimeUnixMs: int64(seq), JobID: job}
	var err error
	if rc.Signature, err = s.Sign(rc.SignBytes()); err != nil {
		t.Fatal(err)
	}
	return rc
}

// proofShape is the path of leaf i in a tree of n leaves: per level with a
// partner, whether the node is the right one.
func proofShape(i, n uint64) string {
	var b strings.Builder
	for ; n > 1; i, n = i/2, (n+1)/2 {
		switch {
		case i%2 == 1:
			b.WriteByte('R')
		case i+1 < n:
			b.WriteByte('L')
		default:
			b.WriteByte('-')
		}
	}
	return b.String()
}

func TestReceiptsProofs(t *testing.T) {
	s := NewEd25519Signer()
	var all []Receipt
	for i := range 40 {
		all = append(all, paidReceipt(t, s, 1, uint64(i+1), []float32{float32(i)}))
	}
	if ReceiptsRoot(nil) != [32]byte{} || VerifyReceiptsProof([32]byte{}, [32]byte{}, 0, 0, nil) {
		t.Fatal("the empty tree")
	}
	for n := uint64(1); n <= 40; n++ {
		rs := all[:n]
		root := ReceiptsRoot(rs)
		if merkle.Root(receiptLeaves(rs)) != root {
			t.Fatalf("n=%d: merkle.Root differs from ReceiptsRoot", n)
		}
		if _, err := ReceiptsProof(rs, int(n)); err == nil {
			t.Fatalf("n=%d: a proof of a receipt past the end", n)
		}
		if _, err := ReceiptsProof(rs, -1); err == nil {
			t.Fatalf("n=%d: a proof of receipt -1", n)
		}
		for i := uint64(0); i < n; i++ {
			leaf := ReceiptLeaf(&rs[i])
			proof, err := ReceiptsProof(rs, int(i))
			if err != nil {
				t.Fatal(err)
			}
			if !VerifyReceiptsProof(root, leaf, i, n, proof) {
				t.Fatalf("n=%d i=%d: the proof does not verify", n, i)
			}
			if VerifyReceiptsProof(root, leaf, n, n, proof) || VerifyReceiptsProof(root, leaf, i, 0, proof) {
				t.Fatalf("n=%d i=%d: verifies out of range", n, i)
			}
			flipped := leaf
			flipped[int(i)%32] ^= 1 << (i % 8)
			if VerifyReceiptsProof(root, flipped, i, n, proof) {
				t.Fatalf("n=%d i=%d: a flipped leaf verifies", n, i)
			}
			badRoot := root
			badRoot[31] ^= 0x80
			if VerifyReceiptsProof(badRoot, leaf, i, n, proof) {
				t.Fatalf("n=%d i=%d: verifies against another root", n, i)
			}
			for k := range proof {
				bad := slices.Clone(proof)
				bad[k][k%32] ^= 4
				if VerifyReceiptsProof(root, leaf, i, n, bad) {
					t.Fatalf("n=%d i=%d: a flipped proof element %d verifies", n, i, k)
				}
			}
			for j := uint64(0); j < n; j++ {
				if j != i && VerifyReceiptsProof(root, leaf, j, n, proof) {
					t.Fatalf("n=%d: the proof of %d verifies at %d", n, i, j)
				}
			}
			// The root does not commit to n: another n verifies exactly
			// when the path from i has the same shape.
			for m := uint64(1); m <= 48; m++ {
				if m == n {
					continue
				}
				same := i < m && proofShape(i, m) == proofShape(i, n)
				if VerifyReceiptsProof(root, leaf, i, m, proof) != same {
					t.Fatalf("n=%d i=%d: under n=%d verifies %v, same shape %v", n, i, m, !same, same)
				}
			}
			if len(proof) > 0 && VerifyReceiptsProof(root, leaf, i, n, proof[:len(proof)-1]) {
				t.Fatalf("n=%d i=%d: a truncated proof verifies", n, i)
			}
			if VerifyReceiptsProof(root, leaf, i, n, append(slices.Clone(proof), root)) ||
				VerifyReceiptsProof(root, leaf, i, n, append(slices.Clone(proof), [32]byte{})) {
				t.Fatalf("n=%d i=%d: an extended proof verifies", n, i)
			}
		}
	}
}

// recordN records n paid requests of job on e, seqs from first, and
// returns their receipts and inputs.
func recordN(t testing.TB, e *Evidence, s *Signer, job, first uint64, n int) ([]Receipt, [][]float32) {
	t.Helper()
	var rs []Receipt
	var xs [][]float32
	for k := range n {
		seq := first + uint64(k)
		x := inputs(1+k%3, 8, seq*100+job)
		rc := paidReceipt(t, s, job, seq, x)
		if err := e.Record(rc, x); err != nil {
			t.Fatal(err)
		}
		rs, xs = append(rs, rc), append(xs, x)
	}
	return rs, xs
}

// checkAll fetches every item of c from e and checks it against rs and xs.
func checkAll(t *testing.T, e *Evidence, s *Signer, c Commitment, rs []Receipt, xs [][]float32) {
	t.Helper()
	if c.Count != uint64(len(rs)) || c.Root != ReceiptsRoot(rs) {
		t.Fatalf("commitment %d receipts, root %x; want %d, %x", c.Count, c.Root, len(rs), ReceiptsRoot(rs))
	}
	for i := range rs {
		it, err := e.Item(c.JobID, c.Root, uint64(i))
		if err != nil {
			t.Fatalf("item %d: %v", i, err)
		}
		x, err := CheckEvidence(it, c.Root[:], uint64(i), c.Count, s.Address())
		if err != nil {
			t.Fatalf("item %d: %v", i, err)
		}
		if !slices.Equal(x, xs[i]) || it.Receipt.RequestID != rs[i].RequestID {
			t.Fatalf("item %d: another request's evidence", i)
		}
	}
}

func TestEvidenceRoundTrip(t *testing.T) {
	s := NewSecp256k1Signer()
	e, err := OpenEvidence(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if _, ok, err := e.Commit(1); ok || err != nil {
		t.Fatalf("a commitment of nothing: %v %v", ok, err)
	}
	if err := e.Record(Receipt{}, []float32{1}); err == nil {
		t.Fatal("recorded an unpaid request")
	}
	rs, xs := recordN(t, e, s, 1, 1, 7)
	rs2, xs2 := recordN(t, e, s, 2, 1, 3)
	c, ok, err := e.Commit(1)
	if !ok || err != nil {
		t.Fatalf("commit: %v %v", ok, err)
	}
	// Served while the claim is on its way, and after it landed.
	checkAll(t, e, s, c, rs, xs)
	if err := e.Sent(c, 5); err != nil {
		t.Fatal(err)
	}
	checkAll(t, e, s, c, rs, xs)
	if got := e.SentClaims(); len(got) != 1 || got[0].Commitment != c || got[0].TaskID != 5 || got[0].SentAt.IsZero() {
		t.Fatalf("sent claims %+v", got)
	}
	if _, ok, _ := e.Commit(1); ok {
		t.Fatal("a second commitment of the same receipts")
	}
	c2, ok, err := e.Commit(2)
	if !ok || err != nil {
		t.Fatal(ok, err)
	}
	checkAll(t, e, s, c2, rs2, xs2)

	// Checks that must fail.
	it, err := e.Item(1, c.Root, 3)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := CheckEvidence(it, c.Root[:], 3, 7, s.Address()); err != nil {
		t.Fatal(err)
	}
	tampered := it
	tampered.Input = slices.Clone(it.Input)
	tampered.Input[0] ^= 1
	otherRoot := c.Root
	otherRoot[0] ^= 1
	badProof := it
	badProof.Proof = slices.Clone(it.Proof)
	badProof.Proof[0] = strings.Repeat("00", 32)
	for name, f := range map[string]func() error{
		"tampered input": func() error { _, err := CheckEvidence(tampered, c.Root[:], 3, 7, s.Address()); return err },
		"other provider": func() error { _, err := CheckEvidence(it, c.Root[:], 3, 7, NewSecp256k1Signer().Address()); return err },
		"other root":     func() error { _, err := CheckEvidence(it, otherRoot[:], 3, 7, s.Address()); return err },
		"short root":     func() error { _, err := CheckEvidence(it, c.Root[:31], 3, 7, s.Address()); return err },
		"other index":    func() error { _, err := CheckEvidence(it, c.Root[:], 2, 7, s.Address()); return err },
		"other count":    func() error { _, err := CheckEvidence(it, c.Root[:], 3, 8, s.Address()); return err },
		"bad proof":      func() error { _, err := CheckEvidence(badProof, c.Root[:], 3, 7, s.Address()); return err },
		"another job's item": func() error {
			it2, _ := e.Item(2, c2.Root, 0)
			_, err := CheckEvidence(it2, c.Root[:], 0, 7, s.Address())
			return err
		},
	} {
		if f() == nil {
			t.Errorf("%s: CheckEvidence accepts it", name)
		}
	}
	if _, err := e.Item(1, c.Root, 7); !errors.Is(err, ErrEvidenceNotFound) {
		t.Fatalf("an index past the count: %v", err)
	}
	if _, err := e.Item(1, otherRoot, 0); !errors.Is(err, ErrEvidenceNotFound) {
		t.Fatalf("an unknown root: %v", err)
	}
	if err := e.Sent(Commitment{JobID: 1, Root: otherRoot}, 1); !errors.Is(err, ErrEvidenceNotFound) {
		t.Fatalf("sending an unknown commitment: %v", err)
	}
}

func TestEvidenceUnsentJoinsNextCommit(t *testing.T) {
	s := NewEd25519Signer()
	e, err := OpenEvidence(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	rs, xs := recordN(t, e, s, 1, 1, 3)
	c1, _, err := e.Commit(1)
	if err != nil {
		t.Fatal(err)
	}
	// Recorded while c1 is on its way: in the next commitment only.
	rs2, xs2 := recordN(t, e, s, 1, 4, 2)
	c2, ok, err := e.Commit(1)
	if !ok || err != nil {
		t.Fatal(ok, err)
	}
	checkAll(t, e, s, c2, rs2, xs2)
	rs3, xs3 := recordN(t, e, s, 1, 6, 2)
	// Neither claim landed: their receipts come back in order, before
	// those recorded since.
	e.Unsent(c2)
	e.Unsent(c1)
	if _, err := e.Item(1, c1.Root, 0); !errors.Is(err, ErrEvidenceNotFound) {
		t.Fatalf("a commitment given back is still served: %v", err)
	}
	c3, ok, err := e.Commit(1)
	if !ok || err != nil {
		t.Fatal(ok, err)
	}
	checkAll(t, e, s, c3, slices.Concat(rs, rs2, rs3), slices.Concat(xs, xs2, xs3))
	if err := e.Sent(c1, 1); err == nil {
		t.Fatal("sent a commitment given back")
	}
}

// segFiles lists the segment files of dir.
func segFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, segPrefix+"*"+segSuffix))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestEvidenceRestart(t *testing.T) {
	s := NewSecp256k1Signer()
	dir := t.TempDir()
	e, err := OpenEvidence(dir)
	if err != nil {
		t.Fatal(err)
	}
	rs1, xs1 := recordN(t, e, s, 1, 1, 3)
	c1, _, _ := e.Commit(1)
	if err := e.Sent(c1, 9); err != nil {
		t.Fatal(err)
	}
	rs2, xs2 := recordN(t, e, s, 1, 4, 2)
	c2, _, _ := e.Commit(1) // committed, never sent
	rs3, xs3 := recordN(t, e, s, 1, 6, 2)
	rsJ2, xsJ2 := recordN(t, e, s, 2, 1, 1)
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if err := e.Record(rs1[0], xs1[0]); err == nil {
		t.Fatal("recorded after Close")
	}
	before := segFiles(t, dir)

	e, err = OpenEvidence(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := e.SentClaims(); len(got) != 1 || got[0].Commitment != c1 || got[0].TaskID != 9 {
		t.Fatalf("sent claims after a restart: %+v", got)
	}
	checkAll(t, e, s, c1, rs1, xs1)
	if _, err := e.Item(1, c2.Root, 0); !errors.Is(err, ErrEvidenceNotFound) {
		t.Fatalf("a commitment never sent is served after a restart: %v", err)
	}
	rs4, xs4 := recordN(t, e, s, 1, 8, 1)
	if after := segFiles(t, dir); len(after) != len(before)+1 {
		t.Fatalf("a record after the restart went to an old segment: %v then %v", before, after)
	}
	c, ok, err := e.Commit(1)
	if !ok || err != nil {
		t.Fatal(ok, err)
	}
	checkAll(t, e, s, c, slices.Concat(rs2, rs3, rs4), slices.Concat(xs2, xs3, xs4))
	cj2, ok, err := e.Commit(2)
	if !ok || err != nil {
		t.Fatal(ok, err)
	}
	checkAll(t, e, s, cj2, rsJ2, xsJ2)
	if err := e.Sent(c, 10); err != nil {
		t.Fatal(err)
	}
	e.Unsent(cj2)
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}

	// Again: both sent claims served, job 2's given back receipts unsent.
	e, err = OpenEvidence(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if got := e.SentClaims(); len(got) != 2 || got[0].TaskID != 9 || got[1].TaskID != 10 {
		t.Fatalf("sent claims after a second restart: %+v", got)
	}
	checkAll(t, e, s, c1, rs1, xs1)
	checkAll(t, e, s, c, slices.Concat(rs2, rs3, rs4), slices.Concat(xs2, xs3, xs4))
	if cj, ok, _ := e.Commit(2); !ok || cj != cj2 {
		t.Fatalf("job 2 after a restart: %+v %v", cj, ok)
	}
}

func TestEvidenceTornRecordIsIgnored(t *testing.T) {
	s := NewEd25519Signer()
	dir := t.TempDir()
	e, err := OpenEvidence(dir)
	if err != nil {
		t.Fatal(err)
	}
	rs, xs := recordN(t, e, s, 1, 1, 3)
	recordN(t, e, s, 2, 1, 1)
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	files := segFiles(t, dir)
	if len(files) != 2 {
		t.Fatalf("segments %v", files)
	}
	// Job 1's last record loses its tail and gets junk; job 2's only
	// record is cut in its header.
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(filepath.Base(p), "seg-1-") {
			b = append(b[:len(b)-5], 0, 0, 0, 7, 1)
		} else {
			b = b[:7]
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	e, err = OpenEvidence(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	c, ok, err := e.Commit(1)
	if !ok || err != nil {
		t.Fatal(ok, err)
	}
	checkAll(t, e, s, c, rs[:2], xs[:2])
	if _, ok, _ := e.Commit(2); ok {
		t.Fatal("a torn record was committed")
	}
	if got := segFiles(t, dir); len(got) != 1 {
		t.Fatalf("the segment of no whole record was kept: %v", got)
	}
}

func TestEvidenceDropRemovesFiles(t *testing.T) {
	s := NewEd25519Signer()
	dir := t.TempDir()
	e, err := OpenEvidence(dir)
	if err != nil {
		t.Fatal(err)
	}
	recordN(t, e, s, 1, 1, 3)
	c1, _, _ := e.Commit(1)
	recordN(t, e, s, 1, 4, 2)
	e.Unsent(c1)
	c, _, _ := e.Commit(1) // two segments
	if err := e.Drop(1, c.Root); !errors.Is(err, ErrEvidenceNotFound) {
		t.Fatalf("dropped a commitment not sent: %v", err)
	}
	if err := e.Sent(c, 3); err != nil {
		t.Fatal(err)
	}
	if n := len(segFiles(t, dir)); n != 2 {
		t.Fatalf("%d segments, want 2", n)
	}
	if err := e.Drop(1, c.Root); err != nil {
		t.Fatal(err)
	}
	if n := len(segFiles(t, dir)); n != 0 || len(e.SentClaims()) != 0 {
		t.Fatalf("%d segments and %d claims left after Drop", n, len(e.SentClaims()))
	}
	if _, err := e.Item(1, c.Root, 0); !errors.Is(err, ErrEvidenceNotFound) {
		t.Fatalf("a dropped commitment is served: %v", err)
	}
	if err := e.Drop(1, c.Root); err == nil {
		t.Fatal("dropped twice")
	}
	e.Close()
	e, err = OpenEvidence(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if _, ok, _ := e.Commit(1); ok || len(e.SentClaims()) != 0 {
		t.Fatal("dropped evidence came back after a restart")
	}
}

func TestEvidenceConcurrentRecordAndCommit(t *testing.T) {
	s := NewEd25519Signer()
	e, err := OpenEvidence(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	// Writers record until the committer has made enough commitments
	// while they ran (and at least min records each).
	const writers, minEach, rounds = 4, 100, 8
	var recorded atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; ; k++ {
				if k >= minEach {
					select {
					case <-stop:
						return
					default:
					}
				}
				seq := uint64(w*1_000_000 + k + 1)
				x := []float32{float32(seq), float32(w)}
				if err := e.Record(paidReceipt(t, s, 1+uint64(w%2), seq, x), x); err != nil {
					t.Error(err)
					return
				}
				recorded.Add(1)
			}
		}()
	}
	made := 0
	for n := 0; made < rounds; n++ {
		for _, job := range []uint64{1, 2} {
			c, ok, err := e.Commit(job)
			if err != nil {
				t.Fatal(err)
			}
			if !ok {
				continue
			}
			made++
			// Every third claim does not land; the others do.
			if n%3 == 0 {
				e.Unsent(c)
			} else if err := e.Sent(c, uint64(n)); err != nil {
				t.Fatal(err)
			}
		}
	}
	close(stop)
	wg.Wait()
	for _, job := range []uint64{1, 2} {
		if c, ok, err := e.Commit(job); err != nil {
			t.Fatal(err)
		} else if ok {
			if err := e.Sent(c, 0); err != nil {
				t.Fatal(err)
			}
		}
	}
	seen := map[string]int{}
	claims := e.SentClaims()
	for _, sc := range claims {
		c := sc.Commitment
		for i := range c.Count {
			it, err := e.Item(c.JobID, c.Root, i)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := CheckEvidence(it, c.Root[:], i, c.Count, s.Address()); err != nil {
				t.Fatal(err)
			}
			seen[it.Receipt.RequestID]++
		}
	}
	if int64(len(seen)) != recorded.Load() {
		t.Fatalf("%d requests in the commitments, %d recorded", len(seen), recorded.Load())
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("request %s is in %d commitments", id, n)
		}
	}
	t.Logf("%d records in %d sent commitments", recorded.Load(), len(claims))
}

func TestEvidenceEndpoint(t *testing.T) {
	f := newFixture(t)
	k := Key{1, 1}
	f.addModel(t, k, testSpec(8, 6, 3), 1)
	signer := NewSecp256k1Signer()
	ev, err := OpenEvidence(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer ev.Close()
	srv := newEvidenceServer(t, Config{Models: []Key{k}, Loader: f.loader, Signer: signer, Evidence: ev, Tokens: []string{"gw"}})
	rs, xs := recordN(t, ev, signer, 4, 1, 5)
	c, _, _ := ev.Commit(4)
	if err := ev.Sent(c, 2); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := range rs {
		it, err := FetchEvidence(ctx, srv.URL+"/", 4, c.Root[:], uint64(i), 0)
		if err != nil {
			t.Fatal(err)
		}
		x, err := CheckEvidence(it, c.Root[:], uint64(i), c.Count, signer.Address())
		if err != nil || !slices.Equal(x, xs[i]) {
			t.Fatalf("item %d: %v", i, err)
		}
	}
	other := c.Root
	other[3] ^= 1
	if _, err := FetchEvidence(ctx, srv.URL, 4, other[:], 0, 0); !errors.Is(err, ErrEvidenceNotFound) {
		t.Fatalf("unknown root: %v", err)
	}
	if _, err := FetchEvidence(ctx, srv.URL, 4, c.Root[:], 5, 0); !errors.Is(err, ErrEvidenceNotFound) {
		t.Fatalf("index past the count: %v", err)
	}
	if _, err := FetchEvidence(ctx, srv.URL, 4, c.Root[:], 0, 64); err == nil {
		t.Fatal("an answer over the bound was read")
	}
	rootHex := fmt.Sprintf("%x", c.Root)
	for _, p := range []string{"/v1/evidence/x/" + rootHex + "/0", "/v1/evidence/0/" + rootHex + "/0",
		"/v1/evidence/4/abcd/0", "/v1/evidence/4/" + rootHex + "/-1", "/v1/evidence/4/" + rootHex + "/z"} {
		resp, err := http.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("%s: %d, want 400", p, resp.StatusCode)
		}
	}
	if got := EvidenceURL("http://p:1/", 4, c.Root[:], 2); got != "http://p:1/v1/evidence/4/"+rootHex+"/2" {
		t.Fatalf("EvidenceURL %s", got)
	}
	// A server keeping no evidence has none to give.
	bare := newEvidenceServer(t, Config{Models: []Key{k}, Loader: f.loader, Signer: signer})
	if _, err := FetchEvidence(ctx, bare.URL, 4, c.Root[:], 0, 0); !errors.Is(err, ErrEvidenceNotFound) {
		t.Fatalf("a server without evidence: %v", err)
	}
}

// newEvidenceServer serves a Server of cfg over HTTP for the test.
func newEvidenceServer(t *testing.T, cfg Config) *httptest.Server {
	t.Helper()
	s, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(func() { srv.Close(); s.Close() })
	return srv
}

// oneLease is a lease source of one lease; pubKeys a key source of one account.
type oneLease Lease

func (l oneLease) Lease(_ context.Context, id uint64) (Lease, error) {
	if id != l.JobID {
		return Lease{}, fmt.Errorf("no job %d", id)
	}
	return Lease(l), nil
}

type oneKey struct {
	account string
	key     cryptotypes.PubKey
}

func (k oneKey) PubKey(_ context.Context, account string) (cryptotypes.PubKey, error) {
	if account != k.account {
		return nil, fmt.Errorf("no key of %s", account)
	}
	return k.key, nil
}

// A paid request served through predict leaves its evidence.
func TestPaidPredictKeepsEvidence(t *testing.T) {
	f := newFixture(t)
	k := Key{1, 1}
	f.addModel(t, k, testSpec(8, 6, 3), 1)
	signer := NewSecp256k1Signer()
	ckey := secp256k1.GenPrivKey()
	client, err := sdk.Bech32ifyAddressBytes(AddressPrefix, ckey.PubKey().Address())
	if err != nil {
		t.Fatal(err)
	}
	const chain, job = "cohort-test-1", 7
	pay := &Payments{ChainID: chain, Provider: signer.Address(), TTL: time.Minute,
		Leases: oneLease{JobID: job, Client: client, Provider: signer.Address(), Model: k, State: "JOB_STATE_LEASED",
			Units: 100, Escrow: sdkmath.NewInt(1_000_000), UnitCost: sdkmath.NewInt(10)},
		PubKeys: oneKey{client, ckey.PubKey()}}
	if err := pay.Load(); err != nil {
		t.Fatal(err)
	}
	ev, err := OpenEvidence(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer ev.Close()
	srv := newEvidenceServer(t, Config{Models: []Key{k}, Loader: f.loader, Signer: signer, Payments: pay, Evidence: ev})

	var want [][]float32
	var units uint64
	for i := range 3 {
		rows := 1 + i
		x := inputs(rows, 8, uint64(50+i))
		units += uint64(rows)
		v := markettypes.Voucher{ChainId: chain, JobId: job, Provider: signer.Address(), CumulativeUnits: units}
		sig, err := ckey.Sign(v.SignBytes())
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest("POST", srv.URL+"/v1/models/1/versions/1:predict", bytes.NewReader(EncodeFloats(x)))
		req.Header.Set("Content-Type", ContentBinary)
		req.Header.Set(HeaderClient, client)
		req.Header.Set(HeaderVoucher, VoucherHeader{JobID: job, CumulativeUnits: units, Signature: sig}.Encode())
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("request %d: %s", i, resp.Status)
		}
		want = append(want, x)
	}
	c, ok, err := ev.Commit(job)
	if !ok || err != nil || c.Count != 3 {
		t.Fatalf("commit %+v %v %v", c, ok, err)
	}
	for i := range want {
		it, err := FetchEvidence(context.Background(), srv.URL, job, c.Root[:], uint64(i), 0)
		if err != nil {
			t.Fatal(err)
		}
		x, err := CheckEvidence(it, c.Root[:], uint64(i), c.Count, signer.Address())
		if err != nil || !slices.Equal(x, want[i]) || it.Receipt.JobID != job {
			t.Fatalf("request %d: %v", i, err)
		}
	}
}

// A sent claim whose segment is gone is still listed (to be dropped) but
// not served.
func TestEvidenceMissingSegmentOfSentClaim(t *testing.T) {
	s := NewEd25519Signer()
	dir := t.TempDir()
	e, err := OpenEvidence(dir)
	if err != nil {
		t.Fatal(err)
	}
	recordN(t, e, s, 1, 1, 2)
	c, _, _ := e.Commit(1)
	if err := e.Sent(c, 4); err != nil {
		t.Fatal(err)
	}
	e.Close()
	for _, p := range segFiles(t, dir) {
		os.Remove(p)
	}
	e, err = OpenEvidence(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if got := e.SentClaims(); len(got) != 1 || got[0].Commitment != c || got[0].TaskID != 4 {
		t.Fatalf("sent claims %+v", got)
	}
	if _, err := e.Item(1, c.Root, 0); err == nil || errors.Is(err, ErrEvidenceNotFound) {
		t.Fatalf("evidence of a missing segment: %v", err)
	}
	if err := e.Drop(1, c.Root); err != nil || len(e.SentClaims()) != 0 {
		t.Fatalf("drop: %v", err)
	}
}
