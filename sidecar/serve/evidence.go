package serve

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cohortchain/cohort/sidecar/durable"
	"github.com/cohortchain/cohort/sidecar/merkle"
)

// Evidence of served inference, for sampled verification.
//
// Every usage claim of an inference lease commits the Merkle root
// (ReceiptsRoot) and count of the receipts it covers; a later block's hash
// picks a few of their indices, and validators fetch, for each, the
// receipt, its Merkle proof and the request's input (GET EvidencePath),
// check them (CheckEvidence), run the model again and compare the output
// hash. The provider therefore keeps every paid request's input with its
// receipt (Evidence) until its claim's task is decided.
//
// On disk, Evidence is a directory of segment files, one per job and run
// of records, and a manifest of the sent claims. A segment is a sequence
// of records, each
//
//	json length (u32 LE) ‖ input length (u32 LE) ‖ crc32c (u32 LE) ‖ receipt JSON ‖ input (EncodeFloats)
//
// the checksum over both lengths, the JSON and the input, so a record
// torn by a crash is recognised and ends its segment. A segment belongs
// wholly to one commitment: Commit seals the job's open segment, and the
// records after it go to a new one.

// EvidencePath is the pattern of the evidence endpoint:
// /v1/evidence/{job}/{root hex}/{index}.
const EvidencePath = "/v1/evidence/{job}/{root}/{index}"

// ErrEvidenceNotFound is the error of evidence not kept (an unknown
// commitment, or an index past its count); FetchEvidence returns it for a
// 404.
var ErrEvidenceNotFound = errors.New("serve: no such evidence")

// Commitment is what a usage claim commits to: Root is ReceiptsRoot of the
// receipts it covers (in segment order), Count their number.
type Commitment struct {
	JobID uint64
	Root  [32]byte
	Count uint64
}

// SentClaim is a commitment whose claim landed on chain.
type SentClaim struct {
	Commitment
	// TaskID is the x/verify task the claim opened (0: none).
	TaskID uint64
	// SentAt is when Sent recorded it.
	SentAt time.Time
}

// EvidenceItem is the evidence of one receipt of a commitment, as the
// evidence endpoint serves it.
type EvidenceItem struct {
	Receipt Receipt `json:"receipt"`
	// Proof is the Merkle proof of the receipt's leaf (merkle.Proof), hex siblings.
	Proof []string `json:"proof"`
	// Count is the number of receipts the commitment covers.
	Count uint64 `json:"count"`
	// Input is EncodeFloats of the request's input (base64 in JSON).
	Input []byte `json:"input"`
}

const (
	// evidenceManifest is the file of the sent claims.
	evidenceManifest = "sent.json"
	// segPrefix and segSuffix frame a segment file's name: seg-<job>-<seq>.ev.
	segPrefix, segSuffix = "seg-", ".ev"
	// recordHeader is the bytes before a record's JSON.
	recordHeader = 12
	// maxRecordJSON and maxRecordInput bound what a record read back may
	// claim to hold (a larger length is a torn or damaged record).
	maxRecordJSON  = 1 << 20
	maxRecordInput = 1 << 30
	// segFlushBytes is how much a segment buffers before it is written.
	segFlushBytes = 256 << 10
	// defaultEvidenceBytes bounds an evidence answer FetchEvidence reads
	// when no bound is given.
	defaultEvidenceBytes = 64 << 20
)

// crcTable is the Castagnoli table of record checksums.
var crcTable = crc32.MakeTable(crc32.Castagnoli)

// Evidence keeps the receipts and inputs of paid requests per job, seals
// them into commitments for usage claims and serves them until dropped.
// Only receipts, their leaves and the places of the inputs are kept in
// memory; the inputs are read back from the segment files. It is safe for
// concurrent use.
type Evidence struct {
	dir string

	// persist orders the manifest's writes (taken before mu).
	persist sync.Mutex

	mu     sync.Mutex
	closed bool
	// nextSeq numbers the next segment file.
	nextSeq uint64
	jobs    map[uint64]*jobEvidence
	// inflight are commitments made and neither sent nor given back; sent
	// those whose claims landed.
	inflight map[claimKey]*evClaim
	sent     map[claimKey]*evClaim
}

// jobEvidence is one job's receipts not yet sent.
type jobEvidence struct {
	// open takes new records (nil until the first after a commit).
	open *segment
	// pending are sealed segments whose receipts were never sent, by seq.
	pending []*segment
}

// claimKey names a commitment.
type claimKey struct {
	job  uint64
	root [32]byte
}

// evClaim is a commitment with the segments it covers.
type evClaim struct {
	c      Commitment
	segs   []*segment
	leaves [][32]byte
	task   uint64
	sentAt time.Time
	// damaged, when set, is why the claim's evidence read back at open
	// cannot be served.
	damaged error
}

// segment is one segment file and the records it holds.
type segment struct {
	job   uint64
	seq   uint64
	name  string
	items []evItem
	// An open segment also has its file, the bytes not yet written and
	// how many are; a sealed one has neither.
	f       *os.File
	buf     []byte
	written int64
}

// evItem is one record: its receipt, the receipt's leaf and where the
// input lies in the segment file.
type evItem struct {
	rc   Receipt
	leaf [32]byte
	off  int64
	n    int64
}

// manifestClaim is a sent claim in the manifest.
type manifestClaim struct {
	Job      uint64   `json:"job"`
	Root     string   `json:"root"`
	Count    uint64   `json:"count"`
	Task     uint64   `json:"task"`
	SentMs   int64    `json:"sent_unix_ms"`
	Segments []string `json:"segments"`
}

// segName is the file name of job's segment seq.
func segName(job, seq uint64) string {
	return fmt.Sprintf("%s%d-%012d%s", segPrefix, job, seq, segSuffix)
}

// parseSegName reads a segment file's job and seq.
func parseSegName(name string) (job, seq uint64, ok bool) {
	s, ok1 := strings.CutPrefix(name, segPrefix)
	s, ok2 := strings.CutSuffix(s, segSuffix)
	js, ss, ok3 := strings.Cut(s, "-")
	if !ok1 || !ok2 || !ok3 {
		return 0, 0, false
	}
	job, err1 := strconv.ParseUint(js, 10, 64)
	seq, err2 := strconv.ParseUint(ss, 10, 64)
	if err1 != nil || err2 != nil || job == 0 || segName(job, seq) != name {
		return 0, 0, false
	}
	return job, seq, true
}

// OpenEvidence opens (creating) the evidence directory dir and reads back
// what it holds: the segments of sent claims are served again with their
// task ids; every other segment (open at a crash or Close, or committed
// and never sent) becomes receipts not yet sent, which join the job's
// next Commit. A torn last record ends its segment. New records go to new
// segment files.
func OpenEvidence(dir string) (*Evidence, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("serve: evidence directory: %w", err)
	}
	e := &Evidence{dir: dir, nextSeq: 1, jobs: map[uint64]*jobEvidence{},
		inflight: map[claimKey]*evClaim{}, sent: map[claimKey]*evClaim{}}
	var manifest []manifestClaim
	b, err := os.ReadFile(filepath.Join(dir, evidenceManifest))
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("serve: evidence manifest: %w", err)
	default:
		if err := json.Unmarshal(b, &manifest); err != nil {
			return nil, fmt.Errorf("serve: evidence manifest %s: %w", filepath.Join(dir, evidenceManifest), err)
		}
	}
	referenced := map[string]bool{}
	for _, mc := range manifest {
		for _, n := range mc.Segments {
			referenced[n] = true
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("serve: evidence directory: %w", err)
	}
	segs := map[string]*segment{}
	for _, de := range entries {
		job, seq, ok := parseSegName(de.Name())
		if !ok || !de.Type().IsRegular() {
			continue
		}
		e.nextSeq = max(e.nextSeq, seq+1)
		s, err := e.readSegment(job, seq, de.Name(), !referenced[de.Name()])
		if err != nil {
			return nil, err
		}
		if s != nil {
			segs[de.Name()] = s
		}
	}
	for _, mc := range manifest {
		cl := e.restoreClaim(mc, segs)
		e.sent[claimKey{cl.c.JobID, cl.c.Root}] = cl
	}
	for _, s := range segs {
		j := e.job(s.job)
		j.pending = append(j.pending, s)
	}
	for _, j := range e.jobs {
		sortSegments(j.pending)
	}
	return e, nil
}

// readSegment reads the records of a segment file back. A torn tail ends
// it; when trim is set the file is cut there, and removed if it holds no
// whole record (then the segment is nil).
func (e *Evidence) readSegment(job, seq uint64, name string, trim bool) (*segment, error) {
	path := filepath.Join(e.dir, name)
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("serve: evidence segment: %w", err)
	}
	defer f.Close()
	s := &segment{job: job, seq: seq, name: name}
	r := bufio.NewReaderSize(f, 1<<16)
	var off int64
	for {
		rc, leaf, n, size, ok := readRecord(r, job)
		if !ok {
			break
		}
		s.items = append(s.items, evItem{rc: rc, leaf: leaf, off: off + size - n, n: n})
		off += size
	}
	if !trim {
		return s, nil
	}
	if len(s.items) == 0 {
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("serve: evidence segment: %w", err)
		}
		return nil, nil
	}
	if st, err := f.Stat(); err == nil && st.Size() > off {
		if err := os.Truncate(path, off); err != nil {
			return nil, fmt.Errorf("serve: evidence segment: %w", err)
		}
	}
	return s, nil
}

// readRecord reads one record of job: its receipt and leaf, its input's
// length and the record's size; ok false at the end or at a torn or
// damaged record.
func readRecord(r io.Reader, job uint64) (rc Receipt, leaf [32]byte, n, size int64, ok bool) {
	var h [recordHeader]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return rc, leaf, 0, 0, false
	}
	jl, il := binary.LittleEndian.Uint32(h[0:]), binary.LittleEndian.Uint32(h[4:])
	if jl == 0 || jl > maxRecordJSON || il > maxRecordInput {
		return rc, leaf, 0, 0, false
	}
	crc := crc32.Update(0, crcTable, h[:8])
	js := make([]byte, jl)
	if _, err := io.ReadFull(r, js); err != nil {
		return rc, leaf, 0, 0, false
	}
	crc = crc32.Update(crc, crcTable, js)
	cw := &crcWriter{crc: crc}
	if m, err := io.CopyN(cw, r, int64(il)); err != nil || m != int64(il) {
		return rc, leaf, 0, 0, false
	}
	if cw.crc != binary.LittleEndian.Uint32(h[8:]) {
		return rc, leaf, 0, 0, false
	}
	if err := json.Unmarshal(js, &rc); err != nil || rc.JobID != job {
		return rc, leaf, 0, 0, false
	}
	return rc, ReceiptLeaf(&rc), int64(il), recordHeader + int64(jl) + int64(il), true
}

// crcWriter sums what is written to it.
type crcWriter struct{ crc uint32 }

func (w *crcWriter) Write(p []byte) (int, error) {
	w.crc = crc32.Update(w.crc, crcTable, p)
	return len(p), nil
}

// restoreClaim rebuilds a sent claim of the manifest from its segments,
// taking them out of segs; a claim whose segments are missing or do not
// give its root and count is kept as damaged (listed, not served).
func (e *Evidence) restoreClaim(mc manifestClaim, segs map[string]*segment) *evClaim {
	cl := &evClaim{c: Commitment{JobID: mc.Job, Count: mc.Count}, task: mc.Task, sentAt: time.UnixMilli(mc.SentMs)}
	root, err := hex.DecodeString(mc.Root)
	if err != nil || len(root) != 32 {
		cl.damaged = fmt.Errorf("serve: evidence manifest: bad root %q", mc.Root)
	}
	copy(cl.c.Root[:], root)
	for _, n := range mc.Segments {
		s := segs[n]
		delete(segs, n)
		if s == nil {
			job, seq, _ := parseSegName(n)
			s = &segment{job: job, seq: seq, name: n}
			if cl.damaged == nil {
				cl.damaged = fmt.Errorf("serve: evidence segment %s of job %d is missing", n, mc.Job)
			}
		}
		cl.segs = append(cl.segs, s)
	}
	cl.leaves = segmentLeaves(cl.segs)
	if cl.damaged == nil && (uint64(len(cl.leaves)) != mc.Count || merkle.Root(cl.leaves) != cl.c.Root) {
		cl.damaged = fmt.Errorf("serve: evidence of job %d root %x read back does not give its root and count", mc.Job, cl.c.Root)
	}
	if cl.damaged != nil {
		cl.leaves = nil
	}
	return cl
}

// segmentLeaves are the leaves of the segments' receipts, in order.
func segmentLeaves(segs []*segment) [][32]byte {
	var leaves [][32]byte
	for _, s := range segs {
		for i := range s.items {
			leaves = append(leaves, s.items[i].leaf)
		}
	}
	return leaves
}

// sortSegments orders segments oldest first.
func sortSegments(segs []*segment) {
	slices.SortFunc(segs, func(a, b *segment) int { return cmpUint(a.seq, b.seq) })
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// job returns job's state, made when new; the caller holds mu (or owns e).
func (e *Evidence) job(id uint64) *jobEvidence {
	j := e.jobs[id]
	if j == nil {
		j = &jobEvidence{}
		e.jobs[id] = j
	}
	return j
}

// Record keeps a paid request's signed receipt (rc.JobID != 0) and its
// input in the job's open segment. It buffers and writes without syncing
// (Commit makes the records durable); on a write error the record is still
// kept and its write retried at the next one.
func (e *Evidence) Record(rc Receipt, input []float32) error {
	if rc.JobID == 0 {
		return errors.New("serve: evidence is kept for paid requests only (job 0)")
	}
	js, err := json.Marshal(rc)
	if err != nil {
		return fmt.Errorf("serve: evidence record: %w", err)
	}
	in := EncodeFloats(input)
	if len(js) > maxRecordJSON || len(in) > maxRecordInput {
		return fmt.Errorf("serve: evidence record of %d + %d bytes is too large", len(js), len(in))
	}
	var h [recordHeader]byte
	binary.LittleEndian.PutUint32(h[0:], uint32(len(js)))
	binary.LittleEndian.PutUint32(h[4:], uint32(len(in)))
	crc := crc32.Update(0, crcTable, h[:8])
	crc = crc32.Update(crc, crcTable, js)
	binary.LittleEndian.PutUint32(h[8:], crc32.Update(crc, crcTable, in))
	leaf := ReceiptLeaf(&rc)

	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return errors.New("serve: evidence store is closed")
	}
	j := e.job(rc.JobID)
	if j.open == nil {
		s := &segment{job: rc.JobID, seq: e.nextSeq, name: segName(rc.JobID, e.nextSeq)}
		f, err := os.OpenFile(filepath.Join(e.dir, s.name), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return fmt.Errorf("serve: evidence segment: %w", err)
		}
		e.nextSeq++
		s.f, j.open = f, s
	}
	s := j.open
	off := s.written + int64(len(s.buf)) + recordHeader + int64(len(js))
	s.buf = append(append(append(s.buf, h[:]...), js...), in...)
	s.items = append(s.items, evItem{rc: rc, leaf: leaf, off: off, n: int64(len(in))})
	if len(s.buf) >= segFlushBytes {
		return s.flush()
	}
	return nil
}

// flush writes the buffered records (at their offset, so a failed write
// is retried whole); the caller holds mu or owns the segment.
func (s *segment) flush() error {
	if len(s.buf) == 0 {
		return nil
	}
	if _, err := s.f.WriteAt(s.buf, s.written); err != nil {
		return fmt.Errorf("serve: evidence segment %s: %w", s.name, err)
	}
	s.written += int64(len(s.buf))
	s.buf = s.buf[:0]
	return nil
}

// seal writes, syncs and closes an open segment (a sealed one is left as
// it is); the caller owns the segment.
func (s *segment) seal() error {
	if s.f == nil {
		return nil
	}
	if err := s.flush(); err != nil {
		return err
	}
	if err := s.f.Sync(); err != nil {
		return fmt.Errorf("serve: evidence segment %s: %w", s.name, err)
	}
	if err := s.f.Close(); err != nil {
		return fmt.Errorf("serve: evidence segment %s: %w", s.name, err)
	}
	s.f, s.buf = nil, nil
	return nil
}

// Commit seals every receipt of job not yet sent (the segments of claims
// never sent, oldest first, then the open segment) into one commitment,
// durably (written and synced) before it returns. ok is false when there
// is none. Records that arrive meanwhile go to the next commitment. The
// commitment awaits Sent (its claim landed) or Unsent (it did not); until
// then its evidence is served, and it is not part of another Commit.
func (e *Evidence) Commit(job uint64) (c Commitment, ok bool, err error) {
	e.mu.Lock()
	j := e.jobs[job]
	if e.closed || j == nil || (j.open == nil && len(j.pending) == 0) {
		closed := e.closed
		e.mu.Unlock()
		if closed {
			return c, false, errors.New("serve: evidence store is closed")
		}
		return c, false, nil
	}
	segs := j.pending
	if j.open != nil {
		segs = append(segs, j.open)
	}
	j.pending, j.open = nil, nil
	e.mu.Unlock()

	giveBack := func() {
		e.mu.Lock()
		e.requeue(job, segs)
		e.mu.Unlock()
	}
	for _, s := range segs {
		if err := s.seal(); err != nil {
			giveBack()
			return c, false, err
		}
	}
	if err := durable.SyncDir(e.dir); err != nil {
		giveBack()
		return c, false, fmt.Errorf("serve: evidence directory: %w", err)
	}
	leaves := segmentLeaves(segs)
	c = Commitment{JobID: job, Root: merkle.Root(leaves), Count: uint64(len(leaves))}
	k := claimKey{job, c.Root}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.inflight[k] != nil || e.sent[k] != nil {
		e.requeue(job, segs)
		return Commitment{}, false, fmt.Errorf("serve: a commitment of job %d to root %x is already made (the same receipts recorded twice)", job, c.Root)
	}
	e.inflight[k] = &evClaim{c: c, segs: segs, leaves: leaves}
	return c, true, nil
}

// requeue puts sealed segments back among job's receipts not yet sent, in
// order; the caller holds mu.
func (e *Evidence) requeue(job uint64, segs []*segment) {
	j := e.job(job)
	j.pending = append(j.pending, segs...)
	sortSegments(j.pending)
}

// Sent records that the claim carrying c landed on chain and opened
// x/verify task taskID (0 when none), in the manifest (durably), so that
// c's evidence is served across restarts until Drop. Sending c again
// updates its task.
func (e *Evidence) Sent(c Commitment, taskID uint64) error {
	e.persist.Lock()
	defer e.persist.Unlock()
	e.mu.Lock()
	k := claimKey{c.JobID, c.Root}
	cl := e.sent[k]
	if cl == nil {
		cl = e.inflight[k]
		if cl == nil {
			e.mu.Unlock()
			return fmt.Errorf("%w: no commitment of job %d to root %x awaits sending", ErrEvidenceNotFound, c.JobID, c.Root)
		}
		delete(e.inflight, k)
		e.sent[k] = cl
		cl.sentAt = time.Now()
	}
	cl.task = taskID
	b, err := e.manifestLocked()
	e.mu.Unlock()
	if err != nil {
		return err
	}
	return e.writeManifest(b)
}

// Unsent gives c's receipts back: its claim did not land, and they join
// the job's next Commit, in their order. A commitment already sent, or
// unknown, is left as it is.
func (e *Evidence) Unsent(c Commitment) {
	e.mu.Lock()
	defer e.mu.Unlock()
	k := claimKey{c.JobID, c.Root}
	if cl := e.inflight[k]; cl != nil {
		delete(e.inflight, k)
		e.requeue(c.JobID, cl.segs)
	}
}

// SentClaims lists the sent commitments with their task ids and when they
// were sent, oldest first.
func (e *Evidence) SentClaims() []SentClaim {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]SentClaim, 0, len(e.sent))
	for _, cl := range e.sent {
		out = append(out, SentClaim{Commitment: cl.c, TaskID: cl.task, SentAt: cl.sentAt})
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if !a.SentAt.Equal(b.SentAt) {
			return a.SentAt.Before(b.SentAt)
		}
		if a.JobID != b.JobID {
			return a.JobID < b.JobID
		}
		return string(a.Root[:]) < string(b.Root[:])
	})
	return out
}

// Drop deletes a sent commitment's receipts and inputs, files included
// (its task is decided: nothing more will be asked of it).
func (e *Evidence) Drop(job uint64, root [32]byte) error {
	e.persist.Lock()
	defer e.persist.Unlock()
	e.mu.Lock()
	k := claimKey{job, root}
	cl := e.sent[k]
	if cl == nil {
		e.mu.Unlock()
		return fmt.Errorf("%w: no sent commitment of job %d to root %x", ErrEvidenceNotFound, job, root)
	}
	delete(e.sent, k)
	b, err := e.manifestLocked()
	e.mu.Unlock()
	if err != nil {
		return err
	}
	// The files go first: a crash before the manifest is written leaves a
	// claim listed whose evidence is missing (dropped again), never
	// segments that look unsent (claimed again).
	var errs []error
	for _, s := range cl.segs {
		if err := os.Remove(filepath.Join(e.dir, s.name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("serve: evidence segment: %w", err))
		}
	}
	if err := e.writeManifest(b); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// manifestLocked encodes the sent claims; the caller holds mu.
func (e *Evidence) manifestLocked() ([]byte, error) {
	list := make([]manifestClaim, 0, len(e.sent))
	for _, cl := range e.sent {
		mc := manifestClaim{Job: cl.c.JobID, Root: hex.EncodeToString(cl.c.Root[:]), Count: cl.c.Count, Task: cl.task,
			SentMs: cl.sentAt.UnixMilli()}
		for _, s := range cl.segs {
			mc.Segments = append(mc.Segments, s.name)
		}
		list = append(list, mc)
	}
	sort.Slice(list, func(i, j int) bool {
		if list[i].Job != list[j].Job {
			return list[i].Job < list[j].Job
		}
		return list[i].Root < list[j].Root
	})
	b, err := json.Marshal(list)
	if err != nil {
		return nil, fmt.Errorf("serve: evidence manifest: %w", err)
	}
	return b, nil
}

// writeManifest replaces the manifest durably; the caller holds persist.
func (e *Evidence) writeManifest(b []byte) error {
	if err := durable.WriteFile(filepath.Join(e.dir, evidenceManifest), b, 0o644); err != nil {
		return fmt.Errorf("serve: evidence manifest: %w", err)
	}
	return nil
}

// Item is the evidence of receipt i of commitment (job, root), sent or
// awaiting Sent: the receipt, its Merkle proof, the count and the input,
// read back from its segment and checked against the receipt's InputHash.
// It returns ErrEvidenceNotFound (wrapped) for a commitment not kept or an
// index past its count.
func (e *Evidence) Item(job uint64, root [32]byte, i uint64) (EvidenceItem, error) {
	e.mu.Lock()
	k := claimKey{job, root}
	cl := e.sent[k]
	if cl == nil {
		cl = e.inflight[k]
	}
	switch {
	case cl == nil:
		e.mu.Unlock()
		return EvidenceItem{}, fmt.Errorf("%w: no commitment of job %d to root %x", ErrEvidenceNotFound, job, root)
	case cl.damaged != nil:
		e.mu.Unlock()
		return EvidenceItem{}, cl.damaged
	case i >= cl.c.Count:
		e.mu.Unlock()
		return EvidenceItem{}, fmt.Errorf("%w: commitment of job %d to root %x has %d receipts, not %d", ErrEvidenceNotFound, job, root, cl.c.Count, i+1)
	}
	// A commitment's segments are sealed and its leaves never change, so
	// they are read without the lock.
	leaves, segs, count := cl.leaves, cl.segs, cl.c.Count
	e.mu.Unlock()

	var s *segment
	j := i
	for _, s = range segs {
		if j < uint64(len(s.items)) {
			break
		}
		j -= uint64(len(s.items))
	}
	it := s.items[j]
	proof, err := merkle.Proof(leaves, int(i))
	if err != nil {
		return EvidenceItem{}, err
	}
	input, err := e.readInput(s.name, it.off, it.n)
	if err != nil {
		return EvidenceItem{}, err
	}
	if h := sha256.Sum256(input); hex.EncodeToString(h[:]) != it.rc.InputHash {
		return EvidenceItem{}, fmt.Errorf("serve: the input of receipt %d of job %d root %x read back does not match its hash", i, job, root)
	}
	out := EvidenceItem{Receipt: it.rc, Proof: make([]string, len(proof)), Count: count, Input: input}
	for n, p := range proof {
		out.Proof[n] = hex.EncodeToString(p[:])
	}
	return out, nil
}

// readInput reads n bytes at off of segment file name.
func (e *Evidence) readInput(name string, off, n int64) ([]byte, error) {
	f, err := os.Open(filepath.Join(e.dir, name))
	if err != nil {
		return nil, fmt.Errorf("serve: evidence segment: %w", err)
	}
	defer f.Close()
	b := make([]byte, n)
	if _, err := f.ReadAt(b, off); err != nil {
		return nil, fmt.Errorf("serve: evidence segment %s: %w", name, err)
	}
	return b, nil
}

// Close writes and syncs the open segments and closes them; their records
// are read back as not yet sent by the next OpenEvidence. Later Records
// and Commits fail.
func (e *Evidence) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil
	}
	e.closed = true
	var errs []error
	for _, j := range e.jobs {
		// A pending segment is still open when a Commit failed to seal it.
		for _, s := range append(slices.Clip(j.pending), j.open) {
			if s != nil {
				if err := s.seal(); err != nil {
					errs = append(errs, err)
				}
			}
		}
	}
	return errors.Join(errs...)
}

// EvidenceURL is the URL of receipt i of commitment (job, root) at a
// provider's base URL.
func EvidenceURL(base string, job uint64, root []byte, i uint64) string {
	return fmt.Sprintf("%s/v1/evidence/%d/%s/%d", strings.TrimRight(base, "/"), job, hex.EncodeToString(root), i)
}

// FetchEvidence gets receipt i of commitment (job, root) from a provider's
// base URL, reading at most maxBytes of the answer (0: 64 MiB). A 404 is
// ErrEvidenceNotFound (wrapped): the provider does not have it. The item
// is not checked: CheckEvidence does.
func FetchEvidence(ctx context.Context, base string, job uint64, root []byte, i uint64, maxBytes int64) (EvidenceItem, error) {
	var it EvidenceItem
	if maxBytes <= 0 {
		maxBytes = defaultEvidenceBytes
	}
	url := EvidenceURL(base, job, root, i)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return it, fmt.Errorf("serve: evidence request: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return it, fmt.Errorf("serve: fetching evidence: %w", err)
	}
	defer resp.Body.Close()
	body, err := ReadBody(resp.Body, resp.ContentLength, maxBytes)
	if err != nil {
		return it, fmt.Errorf("serve: reading evidence from %s: %w", url, err)
	}
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return it, fmt.Errorf("%w: %s answered 404: %s", ErrEvidenceNotFound, url, strings.TrimSpace(string(body[:min(len(body), 256)])))
	case resp.StatusCode != http.StatusOK:
		return it, fmt.Errorf("serve: %s answered %s: %s", url, resp.Status, strings.TrimSpace(string(body[:min(len(body), 256)])))
	case int64(len(body)) > maxBytes:
		return it, fmt.Errorf("serve: evidence from %s is over %d bytes", url, maxBytes)
	}
	if err := json.Unmarshal(body, &it); err != nil {
		return it, fmt.Errorf("serve: evidence from %s: %w", url, err)
	}
	return it, nil
}

// CheckEvidence checks an item against a commitment of n receipts to root:
// the count is n, the proof takes ReceiptLeaf of the receipt at index i to
// root, the receipt's signature verifies (VerifyReceipt) and its provider
// is provider, and sha256 of the input is the receipt's InputHash. It
// returns the input decoded. Which job the receipt names is the caller's
// to check (Receipt.JobID).
func CheckEvidence(it EvidenceItem, root []byte, i, n uint64, provider string) ([]float32, error) {
	if len(root) != 32 {
		return nil, fmt.Errorf("serve: a receipts root is 32 bytes, not %d", len(root))
	}
	if it.Count != n {
		return nil, fmt.Errorf("serve: evidence of a commitment of %d receipts, not %d", it.Count, n)
	}
	proof := make([][32]byte, len(it.Proof))
	for k, p := range it.Proof {
		b, err := hex.DecodeString(p)
		if err != nil || len(b) != 32 {
			return nil, fmt.Errorf("serve: evidence proof element %d is not 32 bytes of hex", k)
		}
		copy(proof[k][:], b)
	}
	if !VerifyReceiptsProof([32]byte(root), ReceiptLeaf(&it.Receipt), i, n, proof) {
		return nil, fmt.Errorf("serve: the receipt's proof does not take it to root %x at index %d of %d", root, i, n)
	}
	if err := VerifyReceipt(&it.Receipt); err != nil {
		return nil, err
	}
	if it.Receipt.Provider != provider {
		return nil, fmt.Errorf("serve: the receipt is %s's, not %s's", it.Receipt.Provider, provider)
	}
	if h := sha256.Sum256(it.Input); hex.EncodeToString(h[:]) != it.Receipt.InputHash {
		return nil, errors.New("serve: the input does not match the receipt's input hash")
	}
	return DecodeFloats(it.Input)
}

// ServeHTTP answers EvidencePath (routed by a mux with that pattern): one
// receipt of a usage claim's commitment with its proof and input, as JSON,
// for the validators that sample it; 400 on bad parameters, 404 when it
// is not kept.
func (e *Evidence) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	job, err := strconv.ParseUint(r.PathValue("job"), 10, 64)
	if err != nil || job == 0 {
		http.Error(w, "job must be a job id", http.StatusBadRequest)
		return
	}
	root, err := hex.DecodeString(r.PathValue("root"))
	if err != nil || len(root) != 32 {
		http.Error(w, "root must be 32 bytes of hex", http.StatusBadRequest)
		return
	}
	i, err := strconv.ParseUint(r.PathValue("index"), 10, 64)
	if err != nil {
		http.Error(w, "index must be a receipt index", http.StatusBadRequest)
		return
	}
	it, err := e.Item(job, [32]byte(root), i)
	if errors.Is(err, ErrEvidenceNotFound) {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	} else if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", ContentJSON)
	json.NewEncoder(w).Encode(it)
}
