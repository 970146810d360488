package serve

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	markettypes "github.com/cohortchain/cohort/x/market/types"
)

// ReceiptVersion names the receipt format and is the first line of its
// sign bytes.
const ReceiptVersion = markettypes.ReceiptVersion

// Receipt is a provider's signed record of one inference request: the
// unit of metering that settlement claims.
//
// Seq numbers one provider's receipts of one client 1, 2, 3, … without
// gaps, so settlement can claim them in batches as ranges: "receipts
// (from, to] of client C, N units in all", with the chain keeping the last
// claimed seq per (provider, client) so that nothing is paid twice; the
// receipts themselves (GET /v1/receipts) are the evidence, and any of them
// can be checked against the provider's key with VerifyReceipt.
type Receipt struct {
	Version   string `json:"version"`
	Provider  string `json:"provider"` // bech32 address of the signing key
	Algo      string `json:"algo"`     // AlgoSecp256k1 or AlgoEd25519
	PubKey    []byte `json:"pubkey"`
	Client    string `json:"client"` // the account the request was served for
	Seq       uint64 `json:"seq"`
	ModelID   uint64 `json:"model_id"`
	Number    uint64 `json:"version_number"`
	RequestID string `json:"request_id"`
	// InputHash and OutputHash are HashFloats of the input and output
	// matrices (hex).
	InputHash  string `json:"input_hash"`
	OutputHash string `json:"output_hash"`
	// Units is the number of examples inferred (rows), what a price per
	// inference multiplies; Price is that price as the registry states it
	// (e.g. "10ucohort", "" when free).
	Units      uint64 `json:"units"`
	Price      string `json:"price,omitempty"`
	TimeUnixMs int64  `json:"time_unix_ms"`
	// JobID is the market lease the request was paid on with a client
	// voucher (0: served without payment, e.g. a provider not charging).
	JobID     uint64 `json:"job_id,omitempty"`
	Signature []byte `json:"signature"`
}

// Proto is r as the chain's InferenceReceipt (what MsgReportMismatch carries).
func (r *Receipt) Proto() markettypes.InferenceReceipt {
	return markettypes.InferenceReceipt{Provider: r.Provider, Algo: r.Algo, Client: r.Client, Seq: r.Seq, ModelId: r.ModelID,
		VersionNumber: r.Number, RequestId: r.RequestID, InputHash: r.InputHash, OutputHash: r.OutputHash, Units: r.Units,
		Price: r.Price, TimeUnixMs: r.TimeUnixMs, JobId: r.JobID}
}

// SignBytes is what the provider signs: the fields in a fixed order, one
// per line, after ReceiptVersion (the signature and public key excluded;
// the key is bound through Provider). The rule is the chain's
// (markettypes.ReceiptSignBytes), which checks receipts reported wrong.
func (r *Receipt) SignBytes() []byte {
	p := r.Proto()
	return markettypes.ReceiptSignBytes(&p)
}

// VerifyReceipt checks r's signature against its key and that the key is
// the provider's.
func VerifyReceipt(r *Receipt) error {
	if r.Version != ReceiptVersion {
		return fmt.Errorf("serve: receipt version %q", r.Version)
	}
	if strings.ContainsRune(r.Client+r.RequestID+r.Price, '\n') {
		return errors.New("serve: receipt field holds a newline")
	}
	return Verify(r.Algo, r.PubKey, r.Provider, r.SignBytes(), r.Signature)
}

// ReceiptStore keeps receipts per client, in memory and appended to a
// JSON-lines file (one receipt a line) that is read back at open. It is
// safe for concurrent use.
type ReceiptStore struct {
	mu      sync.Mutex
	byCli   map[string][]Receipt // sorted by Seq
	nextSeq map[string]uint64
	f       *os.File
	w       *bufio.Writer
	dirty   bool
	stop    chan struct{}
	done    chan struct{}
}

// OpenReceipts opens (creating) the receipt log at path; "" keeps receipts
// in memory only. Appends are flushed every 100 ms and at Close.
func OpenReceipts(path string) (*ReceiptStore, error) {
	s := &ReceiptStore{byCli: map[string][]Receipt{}, nextSeq: map[string]uint64{}}
	if path == "" {
		return s, nil
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(f)
	for {
		var r Receipt
		if err := dec.Decode(&r); err == io.EOF {
			break
		} else if err != nil {
			// A torn last line (crash mid-write) ends the log.
			break
		}
		s.insert(r)
	}
	s.f, s.w = f, bufio.NewWriterSize(f, 1<<16)
	s.stop, s.done = make(chan struct{}), make(chan struct{})
	go s.flusher()
	return s, nil
}

func (s *ReceiptStore) flusher() {
	defer close(s.done)
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.mu.Lock()
			if s.dirty {
				s.w.Flush()
				s.dirty = false
			}
			s.mu.Unlock()
		}
	}
}

// Close flushes and closes the log.
func (s *ReceiptStore) Close() error {
	if s.f == nil {
		return nil
	}
	close(s.stop)
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.w.Flush(); err != nil {
		return err
	}
	return s.f.Close()
}

// insert puts r in its client's list in seq order; the caller holds mu
// (or owns s).
func (s *ReceiptStore) insert(r Receipt) {
	list := s.byCli[r.Client]
	i := len(list)
	for i > 0 && list[i-1].Seq > r.Seq {
		i--
	}
	list = append(list, Receipt{})
	copy(list[i+1:], list[i:])
	list[i] = r
	s.byCli[r.Client] = list
	if r.Seq >= s.nextSeq[r.Client] {
		s.nextSeq[r.Client] = r.Seq + 1
	}
}

// NextSeq reserves the next seq of client (1 for its first receipt).
func (s *ReceiptStore) NextSeq(client string) uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := max(s.nextSeq[client], 1)
	s.nextSeq[client] = n + 1
	return n
}

// Add stores a signed receipt whose seq came from NextSeq.
func (s *ReceiptStore) Add(r Receipt) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.insert(r)
	if s.w != nil {
		b, err := json.Marshal(r)
		if err != nil {
			return err
		}
		s.w.Write(b)
		if err := s.w.WriteByte('\n'); err != nil {
			return err
		}
		s.dirty = true
	}
	return nil
}

// List returns up to limit receipts of client with seq > after, in seq order.
func (s *ReceiptStore) List(client string, after uint64, limit int) []Receipt {
	s.mu.Lock()
	defer s.mu.Unlock()
	list := s.byCli[client]
	i := sort.Search(len(list), func(i int) bool { return list[i].Seq > after })
	end := len(list)
	if limit > 0 {
		end = min(end, i+limit)
	}
	return append([]Receipt(nil), list[i:end]...)
}

// ClientSummary is one client's receipts in brief.
type ClientSummary struct {
	Client  string `json:"client"`
	Count   int    `json:"count"`
	LastSeq uint64 `json:"last_seq"`
	Units   uint64 `json:"units"`
}

// Clients summarises the receipts of every client, sorted by client.
func (s *ReceiptStore) Clients() []ClientSummary {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]ClientSummary, 0, len(s.byCli))
	for c, list := range s.byCli {
		cs := ClientSummary{Client: c, Count: len(list)}
		for _, r := range list {
			cs.Units += r.Units
			cs.LastSeq = max(cs.LastSeq, r.Seq)
		}
		out = append(out, cs)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Client < out[j].Client })
	return out
}

// hexHash is the lower-case hex of a hash.
func hexHash(h [32]byte) string { return hex.EncodeToString(h[:]) }

// PruneJob drops the receipts of job that a settled claim covers: its
// receipts in seq order, counting units from pruned (the units of the
// job's receipts dropped before), while the count stays within settled
// units (a client's last receipt is kept, for its seq). It returns the
// job's pruned units after, and rewrites the log
// (compacted) when it dropped any.
func (s *ReceiptStore) PruneJob(job, pruned, settled uint64) (uint64, int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	dropped := 0
	for c, list := range s.byCli {
		keep := list[:0:0]
		for i, r := range list {
			// A client's last receipt stays, so that its seq numbering
			// goes on after a restart.
			if r.JobID == job && pruned+r.Units <= settled && i < len(list)-1 {
				pruned += r.Units
				dropped++
				continue
			}
			keep = append(keep, r)
		}
		if len(keep) != len(list) {
			s.byCli[c] = keep
		}
	}
	if dropped == 0 || s.f == nil {
		return pruned, dropped, nil
	}
	return pruned, dropped, s.compact()
}

// Count is the number of receipts kept.
func (s *ReceiptStore) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, list := range s.byCli {
		n += len(list)
	}
	return n
}

// compact rewrites the log with the receipts kept (the caller holds mu):
// a new file renamed over the old one, so a crash leaves one or the other.
func (s *ReceiptStore) compact() error {
	if err := s.w.Flush(); err != nil {
		return err
	}
	path := s.f.Name()
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<16)
	clients := make([]string, 0, len(s.byCli))
	for c := range s.byCli {
		clients = append(clients, c)
	}
	sort.Strings(clients)
	for _, c := range clients {
		for _, r := range s.byCli[c] {
			b, err := json.Marshal(r)
			if err != nil {
				f.Close()
				return err
			}
			w.Write(b)
			w.WriteByte('\n')
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	nf, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	s.f.Close()
	s.f, s.w = nf, bufio.NewWriterSize(nf, 1<<16)
	s.dirty = false
	return nil
}
