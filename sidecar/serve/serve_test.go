package serve

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cohortchain/cohort/sidecar/blobstore"
)

func TestBatchingEqualsUnbatched(t *testing.T) {
	f := newFixture(t)
	k1, k2 := Key{1, 1}, Key{2, 1}
	f.addModel(t, k1, testSpec(32, 24, 5), 1)
	f.addModel(t, k2, testSpec(32, 16, 3), 2)
	m1, err := f.loader.Load(context.Background(), k1)
	if err != nil {
		t.Fatal(err)
	}
	m2, err := f.loader.Load(context.Background(), k2)
	if err != nil {
		t.Fatal(err)
	}
	// Queue the jobs before the loop starts, so that batching is certain
	// (not left to timing): two models interleaved, 1–3 rows each.
	b := &Batcher{MaxRows: 16, Window: time.Millisecond, in: make(chan *job, 100), quit: make(chan struct{}), done: make(chan struct{})}
	var batches, maxReqs int
	b.OnBatch = func(reqs, rows int) { batches++; maxReqs = max(maxReqs, reqs) }
	var jobs []*job
	for i := range 40 {
		m := m1
		if i%3 == 0 {
			m = m2
		}
		rows := 1 + i%3
		j := &job{m: m, x: inputs(rows, 32, uint64(i)), rows: rows, done: make(chan struct{})}
		jobs = append(jobs, j)
		b.in <- j
	}
	go b.loop()
	for i, j := range jobs {
		<-j.done
		if j.err != nil {
			t.Fatal(j.err)
		}
		alone, err := j.m.Predict(j.x, j.rows)
		if err != nil {
			t.Fatal(err)
		}
		if len(alone) != len(j.out) {
			t.Fatalf("job %d: %d outputs batched, %d alone", i, len(j.out), len(alone))
		}
		for n := range alone {
			if math.Float32bits(alone[n]) != math.Float32bits(j.out[n]) {
				t.Fatalf("job %d output %d: batched %v, alone %v", i, n, j.out[n], alone[n])
			}
		}
	}
	b.Close()
	if maxReqs < 2 || batches >= len(jobs) {
		t.Fatalf("no batching happened: %d batches, at most %d requests in one", batches, maxReqs)
	}

	// Through the public API, concurrently.
	b2 := NewBatcher(8, 100*time.Microsecond)
	defer b2.Close()
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			x := inputs(1+i%2, 32, uint64(100+i))
			got, err := b2.Predict(context.Background(), m1, x, 1+i%2)
			if err != nil {
				errs <- err
				return
			}
			want, _ := m1.Predict(x, 1+i%2)
			if !slices.Equal(got, want) {
				errs <- fmt.Errorf("request %d differs batched", i)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func TestCacheEvictsLeastRecentlyUsed(t *testing.T) {
	f := newFixture(t)
	spec := testSpec(32, 24, 5) // (32·24+24+24·5+5)·4 = 3668 bytes
	for i := uint64(1); i <= 3; i++ {
		f.addModel(t, Key{i, 1}, spec, i)
	}
	loads := map[Key]int{}
	var evicted []Key
	c := NewCache(2*3668, func(ctx context.Context, k Key) (*Model, error) {
		loads[k]++
		return f.loader.Load(ctx, k)
	})
	c.OnEvict = func(k Key) { evicted = append(evicted, k) }
	ctx := context.Background()
	get := func(k Key) bool {
		t.Helper()
		_, hit, err := c.Get(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		return hit
	}
	get(Key{1, 1})
	get(Key{2, 1})
	if !get(Key{1, 1}) { // 1 is now the most recent
		t.Fatal("model 1 not cached")
	}
	get(Key{3, 1}) // evicts 2
	if !slices.Equal(evicted, []Key{{2, 1}}) {
		t.Fatalf("evicted %v, want [2/1]", evicted)
	}
	if !get(Key{1, 1}) || !get(Key{3, 1}) {
		t.Fatal("models 1 and 3 should be cached")
	}
	if get(Key{2, 1}) {
		t.Fatal("model 2 should have been evicted")
	}
	st := c.Stats()
	if st.Bytes != 2*3668 || len(st.Models) != 2 || loads[Key{2, 1}] != 2 || st.Evictions != 2 {
		t.Fatalf("stats %+v, loads %v", st, loads)
	}
}

func TestWeightsHashMismatchRefused(t *testing.T) {
	f := newFixture(t)
	k := Key{1, 1}
	f.addModel(t, k, testSpec(32, 24, 5), 1)
	info, _ := f.source.Version(context.Background(), k)

	// The registry names other weights than the server holds: the served
	// bytes do not hash to the registry's hash.
	bad := info
	other := blobstore.RefOf([]byte("something else"))
	bad.WeightsHash = other.Hash[:]
	bad.Locations = []string{f.srv.URL}
	wrongRef, _ := f.remote.PutBytes([]byte("not weights"))
	// Serve the good blob under the wrong hash's name via a custom fetch.
	good, _ := f.remote.Get(blobstore.Ref{Hash: [32]byte(info.WeightsHash), Size: int64(info.Size)}, 1<<30)
	f.source.Put(bad)
	l := &Loader{Source: f.source, Store: f.store, Fetch: func(context.Context, string, blobstore.Ref, int64) ([]byte, error) {
		return good, nil
	}}
	if _, err := l.Load(context.Background(), k); !errors.Is(err, blobstore.ErrCorrupt) {
		t.Fatalf("weights under a wrong hash: err %v, want ErrCorrupt", err)
	}
	// Size differs from the registry's.
	bad = info
	bad.Size++
	f.source.Put(bad)
	if _, err := f.loader.Load(context.Background(), k); err == nil {
		t.Fatal("weights of the wrong size loaded")
	}
	// The blob hashes right but is not weights of the spec.
	bad = info
	bad.WeightsHash, bad.Size = wrongRef.Hash[:], uint64(wrongRef.Size)
	f.source.Put(bad)
	if _, err := f.loader.Load(context.Background(), k); err == nil {
		t.Fatal("a blob that is not weights loaded")
	}
	// Yanked.
	bad = info
	bad.NotServable = "version yanked"
	f.source.Put(bad)
	if _, err := f.loader.Load(context.Background(), k); !errors.Is(err, ErrNotServable) {
		t.Fatalf("yanked version: %v", err)
	}
	f.source.Put(info)
	if _, err := f.loader.Load(context.Background(), k); err != nil {
		t.Fatal(err)
	}
}

func TestReceiptSignatures(t *testing.T) {
	for _, s := range []*Signer{NewSecp256k1Signer(), NewEd25519Signer()} {
		r := Receipt{Version: ReceiptVersion, Provider: s.Address(), Algo: s.Algo(), PubKey: s.PubKey(), Client: "cohort1client",
			Seq: 3, ModelID: 1, Number: 2, RequestID: "abc", InputHash: hexHash(HashFloats([]float32{1})),
			OutputHash: hexHash(HashFloats([]float32{2})), Units: 1, Price: "10ucohort", TimeUnixMs: 5}
		var err error
		if r.Signature, err = s.Sign(r.SignBytes()); err != nil {
			t.Fatal(err)
		}
		if err := VerifyReceipt(&r); err != nil {
			t.Fatalf("%s: %v", s.Algo(), err)
		}
		tampered := r
		tampered.OutputHash = hexHash(HashFloats([]float32{3}))
		if VerifyReceipt(&tampered) == nil {
			t.Fatalf("%s: a tampered receipt verifies", s.Algo())
		}
		other := r
		other.Provider = NewEd25519Signer().Address()
		if VerifyReceipt(&other) == nil {
			t.Fatalf("%s: a receipt claiming another provider verifies", s.Algo())
		}
	}
}

func TestServerPredictAndReceipts(t *testing.T) {
	f := newFixture(t)
	k := Key{1, 1}
	f.addModel(t, k, testSpec(32, 24, 5), 1)
	signer := NewSecp256k1Signer()
	dir := t.TempDir()
	rs, err := OpenReceipts(dir + "/receipts.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewServer(Config{Models: []Key{k}, Loader: f.loader, Signer: signer, Receipts: rs})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	m, _ := f.loader.Load(context.Background(), k)

	x := inputs(3, 32, 9)
	want, _ := m.Predict(x, 3)
	// JSON.
	body, _ := json.Marshal(PredictRequest{Inputs: Rows(x, 3)})
	req, _ := http.NewRequest("POST", srv.URL+"/v1/models/1/versions/1:predict", bytes.NewReader(body))
	req.Header.Set("Content-Type", ContentJSON)
	req.Header.Set(HeaderClient, "cohort1alice")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var pr PredictResponse
	json.NewDecoder(resp.Body).Decode(&pr)
	resp.Body.Close()
	if resp.StatusCode != 200 || !slices.Equal(slices.Concat(pr.Outputs...), want) || !slices.Equal(pr.Argmax, Argmax(want, 3)) {
		t.Fatalf("JSON answer %d %+v", resp.StatusCode, pr)
	}
	if err := VerifyReceipt(&pr.Receipt); err != nil || pr.Receipt.OutputHash != hexHash(HashFloats(want)) || pr.Receipt.Units != 3 || pr.Receipt.Seq != 1 {
		t.Fatalf("receipt %+v: %v", pr.Receipt, err)
	}
	// Binary.
	req, _ = http.NewRequest("POST", srv.URL+"/v1/models/1/versions/1:predict", bytes.NewReader(EncodeFloats(x)))
	req.Header.Set("Content-Type", ContentBinary)
	req.Header.Set(HeaderClient, "cohort1alice")
	req.Header.Set(HeaderRequestID, "r2")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	buf.ReadFrom(resp.Body)
	resp.Body.Close()
	got, _ := DecodeFloats(buf.Bytes())
	rc, err := DecodeReceiptHeader(resp.Header)
	if err != nil || !slices.Equal(got, want) || VerifyReceipt(&rc) != nil || rc.Seq != 2 || rc.RequestID != "r2" || rc.InputHash != hexHash(HashFloats(x)) {
		t.Fatalf("binary answer %v, receipt %+v, %v", got, rc, err)
	}
	// Not declared, bad width.
	nan := slices.Clone(x)
	nan[5] = float32(math.Inf(1))
	for path, b := range map[string][]byte{"/v1/models/2/versions/1:predict": EncodeFloats(x), "/v1/models/1/versions/1:predict": EncodeFloats(x[:31]),
		"/v1/models/1/versions/1:predict?inf": EncodeFloats(nan)} {
		resp, _ := http.Post(srv.URL+path, ContentBinary, bytes.NewReader(b))
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Fatalf("%s answered 200", path)
		}
	}
	// Receipts per client, and read back from the log.
	if l := rs.List("cohort1alice", 0, 0); len(l) != 2 || l[0].Seq != 1 || l[1].Seq != 2 {
		t.Fatalf("receipts %+v", l)
	}
	if l := rs.List("cohort1alice", 1, 0); len(l) != 1 || l[0].RequestID != "r2" {
		t.Fatalf("receipts after 1: %+v", l)
	}
	rs.Close()
	rs2, err := OpenReceipts(dir + "/receipts.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer rs2.Close()
	if l := rs2.List("cohort1alice", 0, 0); len(l) != 2 || VerifyReceipt(&l[1]) != nil || rs2.NextSeq("cohort1alice") != 3 {
		t.Fatalf("receipts read back: %+v", l)
	}
}

func TestBatcherCloseUnderLoad(t *testing.T) {
	f := newFixture(t)
	k := Key{1, 1}
	f.addModel(t, k, testSpec(32, 8, 3), 1)
	m, err := f.loader.Load(context.Background(), k)
	if err != nil {
		t.Fatal(err)
	}
	b := NewBatcher(8, 50*time.Microsecond)
	var wg sync.WaitGroup
	var started sync.WaitGroup
	started.Add(16)
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			x := inputs(1, 32, uint64(i))
			want, _ := m.Predict(x, 1)
			for n := range 200 {
				if n == 10 {
					started.Done()
				}
				got, err := b.Predict(context.Background(), m, x, 1)
				if err != nil || !slices.Equal(got, want) {
					t.Errorf("request %d: %v", n, err)
				}
			}
		}()
	}
	started.Wait()
	b.Close() // requests before and after it are all answered
	wg.Wait()
	b.Close() // twice is harmless
}

func TestClaimBatches(t *testing.T) {
	s := NewEd25519Signer()
	rs, _ := OpenReceipts("")
	for range 5 {
		r := Receipt{Version: ReceiptVersion, Provider: s.Address(), Algo: s.Algo(), PubKey: s.PubKey(), Client: "c", Units: 2, RequestID: "x"}
		r.Seq = rs.NextSeq("c")
		r.Signature, _ = s.Sign(r.SignBytes())
		rs.Add(r)
	}
	c, list := rs.Claim("c", 0, 3)
	if c.FromSeq != 1 || c.ToSeq != 3 || c.Count != 3 || c.Units != 6 || len(list) != 3 || c.Provider != s.Address() {
		t.Fatalf("first claim %+v", c)
	}
	c2, list2 := rs.Claim("c", c.ToSeq, 0)
	if c2.FromSeq != 4 || c2.ToSeq != 5 || c2.Units != 4 || c2.Root == c.Root {
		t.Fatalf("second claim %+v", c2)
	}
	all := append(list, list2...)
	root := ReceiptsRoot(all)
	if hexHash(root) == c.Root || ReceiptsRoot(all[:3]) != [32]byte(mustHex(t, c.Root)) {
		t.Fatal("root does not commit to the claimed receipts")
	}
	all[1].Units++ // a changed receipt changes the root
	if ReceiptsRoot(all[:3]) == [32]byte(mustHex(t, c.Root)) {
		t.Fatal("root ignores a changed receipt")
	}
	if c, _ := rs.Claim("c", 5, 0); c.Count != 0 {
		t.Fatalf("claim past the end %+v", c)
	}
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 32 {
		t.Fatalf("hex %q: %v", s, err)
	}
	return b
}
