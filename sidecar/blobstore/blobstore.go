// Package blobstore is the sidecar's content-addressed blob store: large
// results (model updates, weights, checkpoints) live off-chain under their
// sha256, and only the hash, size and location go on-chain.
//
// A Store keeps blobs in a directory, one file per blob named by its hex
// sha256 under a two-character fan-out subdirectory (ab/abcdef…). Writes
// are atomic (temp file, fsync, rename) and idempotent; reads verify size
// and hash as they go, so a caller that reads to EOF never gets bad data
// without an error. Handler serves a Store over HTTP and Client fetches
// from such a server, checking everything the server claims.
//
// Every failure a caller may need to tell apart (to attest a blob as
// unavailable, say) wraps one of the sentinel errors ErrNotFound,
// ErrCorrupt, ErrTooLarge or ErrUnavailable; test with errors.Is.
package blobstore

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/cohortchain/cohort/sidecar/durable"
)

// Sentinel errors. Errors returned by this package wrap them with detail.
var (
	// ErrNotFound: the blob is not in the store, or the server answered 404.
	ErrNotFound = errors.New("blobstore: blob not found")
	// ErrCorrupt: the bytes do not match the ref (wrong size or wrong
	// sha256), whether on disk or as served by a remote store.
	ErrCorrupt = errors.New("blobstore: blob corrupt")
	// ErrTooLarge: the blob exceeds the size limit in force.
	ErrTooLarge = errors.New("blobstore: blob too large")
	// ErrUnavailable: a remote store answered with an unexpected status.
	ErrUnavailable = errors.New("blobstore: blob unavailable")
	// ErrBadRef: a ref or hash string is malformed.
	ErrBadRef = errors.New("blobstore: malformed ref")
)

// DefaultMaxSize is the largest blob a Store accepts unless WithMaxSize
// says otherwise.
const DefaultMaxSize int64 = 4 << 30

// refPrefix starts the textual form of a Ref.
const refPrefix = "sha256:"

// tempPrefix starts the names of in-progress Put files in the store root.
const tempPrefix = ".tmp-put-"

// Ref names a blob: its sha256 and its size in bytes.
type Ref struct {
	Hash [32]byte
	Size int64
}

// RefOf returns the Ref of b.
func RefOf(b []byte) Ref {
	return Ref{Hash: sha256.Sum256(b), Size: int64(len(b))}
}

// Hex is the lower-case hex sha256 of the blob.
func (r Ref) Hex() string { return hex.EncodeToString(r.Hash[:]) }

// String is "sha256:<hex>". The size is not part of the string; it travels
// alongside (as in the JSON form and on-chain).
func (r Ref) String() string { return refPrefix + r.Hex() }

// ParseHash parses "sha256:<hex>" or a bare 64-character lower-case hex
// sha256.
func ParseHash(s string) ([32]byte, error) {
	var h [32]byte
	hx := strings.TrimPrefix(s, refPrefix)
	if len(hx) != 2*len(h) {
		return h, fmt.Errorf("%w: %q: want %d hex digits", ErrBadRef, s, 2*len(h))
	}
	for i := 0; i < len(hx); i++ {
		if c := hx[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return h, fmt.Errorf("%w: %q: want lower-case hex", ErrBadRef, s)
		}
	}
	if _, err := hex.Decode(h[:], []byte(hx)); err != nil {
		return h, fmt.Errorf("%w: %q: %v", ErrBadRef, s, err)
	}
	return h, nil
}

// Parse builds a Ref from its string form "sha256:<hex>" and its size.
func Parse(s string, size int64) (Ref, error) {
	h, err := ParseHash(s)
	if err != nil {
		return Ref{}, err
	}
	if size < 0 {
		return Ref{}, fmt.Errorf("%w: negative size %d", ErrBadRef, size)
	}
	return Ref{Hash: h, Size: size}, nil
}

type refJSON struct {
	Hash string `json:"hash"`
	Size int64  `json:"size"`
}

// MarshalJSON encodes r as {"hash":"sha256:<hex>","size":N}.
func (r Ref) MarshalJSON() ([]byte, error) {
	return json.Marshal(refJSON{Hash: r.String(), Size: r.Size})
}

// UnmarshalJSON decodes the form written by MarshalJSON.
func (r *Ref) UnmarshalJSON(b []byte) error {
	var j refJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return fmt.Errorf("%w: %v", ErrBadRef, err)
	}
	ref, err := Parse(j.Hash, j.Size)
	if err != nil {
		return err
	}
	*r = ref
	return nil
}

// Store is a directory of content-addressed blobs. Its methods are safe
// for concurrent use. One directory should be used by one process at a
// time: New removes leftover temp files, including those of a concurrent
// writer.
type Store struct {
	dir     string
	maxSize int64
}

// Option configures a Store.
type Option func(*Store)

// WithMaxSize sets the largest blob Put accepts (DefaultMaxSize otherwise).
func WithMaxSize(n int64) Option { return func(s *Store) { s.maxSize = n } }

// New opens (creating if needed) the store in dir and removes the temp
// files a crashed Put may have left there.
func New(dir string, opts ...Option) (*Store, error) {
	s := &Store{dir: dir, maxSize: DefaultMaxSize}
	for _, o := range opts {
		o(s)
	}
	if s.maxSize < 0 {
		return nil, fmt.Errorf("blobstore: negative max size %d", s.maxSize)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("blobstore: create %s: %w", dir, err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("blobstore: read %s: %w", dir, err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), tempPrefix) && e.Type().IsRegular() {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("blobstore: remove leftover temp file: %w", err)
			}
		}
	}
	return s, nil
}

// Dir is the store's root directory.
func (s *Store) Dir() string { return s.dir }

// MaxSize is the largest blob Put accepts.
func (s *Store) MaxSize() int64 { return s.maxSize }

// path is where the blob with hash h lives.
func (s *Store) path(h [32]byte) string {
	hx := hex.EncodeToString(h[:])
	return filepath.Join(s.dir, hx[:2], hx)
}

// Put stores everything r yields and returns its Ref. It streams through a
// temp file in the store directory while hashing, and fails with
// ErrTooLarge as soon as more than MaxSize bytes arrive. Putting content
// that is already present is harmless (and replaces a corrupted copy).
func (s *Store) Put(r io.Reader) (ref Ref, err error) {
	tmp, err := os.CreateTemp(s.dir, tempPrefix+"*")
	if err != nil {
		return Ref{}, fmt.Errorf("blobstore: create temp file: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), io.LimitReader(r, s.maxSize+1))
	if err != nil {
		return Ref{}, fmt.Errorf("blobstore: put: %w", err)
	}
	if n > s.maxSize {
		return Ref{}, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, s.maxSize)
	}
	ref = Ref{Size: n}
	h.Sum(ref.Hash[:0])
	if err = tmp.Chmod(0o444); err != nil {
		return Ref{}, fmt.Errorf("blobstore: put: %w", err)
	}
	if err = tmp.Sync(); err != nil {
		return Ref{}, fmt.Errorf("blobstore: put: sync: %w", err)
	}
	if err = tmp.Close(); err != nil {
		return Ref{}, fmt.Errorf("blobstore: put: close: %w", err)
	}
	final := s.path(ref.Hash)
	sub := filepath.Dir(final)
	if err = os.MkdirAll(sub, 0o755); err != nil {
		return Ref{}, fmt.Errorf("blobstore: put: %w", err)
	}
	// Rename atomically replaces any existing copy: concurrent Puts of the
	// same content each install identical bytes, and a reader sees one
	// whole file or the other.
	if err = os.Rename(tmp.Name(), final); err != nil {
		return Ref{}, fmt.Errorf("blobstore: put: %w", err)
	}
	if err = durable.SyncDir(sub); err != nil {
		return Ref{}, fmt.Errorf("blobstore: put: sync directory: %w", err)
	}
	return ref, nil
}

// PutBytes stores b and returns its Ref.
func (s *Store) PutBytes(b []byte) (Ref, error) { return s.Put(bytes.NewReader(b)) }

// Stat returns the Ref of the blob with hash h as found on disk (its size
// is the file's, not yet verified), or an error wrapping ErrNotFound.
func (s *Store) Stat(h [32]byte) (Ref, error) {
	fi, err := os.Stat(s.path(h))
	if errors.Is(err, fs.ErrNotExist) {
		return Ref{}, fmt.Errorf("%w: %s", ErrNotFound, Ref{Hash: h}.String())
	}
	if err != nil {
		return Ref{}, fmt.Errorf("blobstore: stat: %w", err)
	}
	return Ref{Hash: h, Size: fi.Size()}, nil
}

// Has reports whether the blob is present with the right size. A file of
// the wrong size is reported as an error wrapping ErrCorrupt. The content
// hash is not checked (Open and Get do that).
func (s *Store) Has(ref Ref) (bool, error) {
	got, err := s.Stat(ref.Hash)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if got.Size != ref.Size {
		return false, fmt.Errorf("%w: on-disk file %s has %d bytes, want %d", ErrCorrupt, s.path(ref.Hash), got.Size, ref.Size)
	}
	return true, nil
}

// Open returns a reader of the blob that verifies size and sha256 as it is
// read: its final Read returns an error wrapping ErrCorrupt instead of
// io.EOF if the file on disk does not match ref. A missing blob is
// ErrNotFound; a file of the wrong size is ErrCorrupt at once. Bytes
// handed out before EOF are unverified; discard them if reading ends in an
// error.
func (s *Store) Open(ref Ref) (io.ReadCloser, error) {
	p := s.path(ref.Hash)
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, ref)
	}
	if err != nil {
		return nil, fmt.Errorf("blobstore: open: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("blobstore: open: %w", err)
	}
	if fi.Size() != ref.Size {
		f.Close()
		return nil, fmt.Errorf("%w: on-disk file %s has %d bytes, want %d", ErrCorrupt, p, fi.Size(), ref.Size)
	}
	return &verifier{r: f, c: f, want: ref, src: "on-disk file " + p, h: sha256.New()}, nil
}

// Get reads the whole blob and verifies it. It refuses, with ErrTooLarge,
// a ref larger than max without reading anything.
func (s *Store) Get(ref Ref, max int64) ([]byte, error) {
	if ref.Size > max {
		return nil, fmt.Errorf("%w: %s has %d bytes, limit %d", ErrTooLarge, ref, ref.Size, max)
	}
	rc, err := s.Open(ref)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return readVerified(rc.(*verifier))
}

// Delete removes the blob with ref's hash (the size is ignored). Deleting
// a missing blob is not an error.
func (s *Store) Delete(ref Ref) error {
	err := os.Remove(s.path(ref.Hash))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("blobstore: delete %s: %w", ref, err)
	}
	return nil
}

// List returns the Refs of all blobs in the store, sorted by hash, with
// sizes as found on disk (unverified), for garbage collection. Files that
// are not blobs are skipped.
func (s *Store) List() ([]Ref, error) {
	subs, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("blobstore: list: %w", err)
	}
	var refs []Ref
	for _, sub := range subs {
		if !sub.IsDir() || len(sub.Name()) != 2 {
			continue
		}
		files, err := os.ReadDir(filepath.Join(s.dir, sub.Name()))
		if err != nil {
			return nil, fmt.Errorf("blobstore: list: %w", err)
		}
		for _, f := range files {
			h, err := ParseHash(f.Name())
			if err != nil || !f.Type().IsRegular() || f.Name()[:2] != sub.Name() {
				continue
			}
			fi, err := f.Info()
			if errors.Is(err, fs.ErrNotExist) {
				continue // deleted meanwhile
			}
			if err != nil {
				return nil, fmt.Errorf("blobstore: list: %w", err)
			}
			refs = append(refs, Ref{Hash: h, Size: fi.Size()})
		}
	}
	slices.SortFunc(refs, func(a, b Ref) int { return bytes.Compare(a.Hash[:], b.Hash[:]) })
	return refs, nil
}

// verifier reads at most want.Size bytes from r, hashing them, and turns
// the underlying EOF into an ErrCorrupt error when size or hash differ. It
// also reports as corrupt a source that has more than want.Size bytes, or
// one that ends with io.ErrUnexpectedEOF (a truncated HTTP body).
type verifier struct {
	r    io.Reader
	c    io.Closer
	want Ref
	src  string // for error messages
	h    hash.Hash
	n    int64
	err  error // sticky
}

// Read implements io.Reader.
func (v *verifier) Read(p []byte) (int, error) {
	if v.err != nil {
		return 0, v.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	// Ask for one byte beyond the size to notice an overlong source.
	rem := v.want.Size - v.n
	if int64(len(p)) > rem+1 {
		p = p[:rem+1]
	}
	n, err := v.r.Read(p)
	if int64(n) > rem {
		n = int(rem)
		v.h.Write(p[:n])
		v.n += int64(n)
		v.err = fmt.Errorf("%w: %s: %s has more than %d bytes", ErrCorrupt, v.want, v.src, v.want.Size)
		return n, v.err
	}
	v.h.Write(p[:n])
	v.n += int64(n)
	switch {
	case err == nil:
		return n, nil
	case err == io.EOF:
		v.err = v.finish()
	case errors.Is(err, io.ErrUnexpectedEOF):
		v.err = fmt.Errorf("%w: %s: %s truncated after %d of %d bytes", ErrCorrupt, v.want, v.src, v.n, v.want.Size)
	default:
		v.err = err
	}
	return n, v.err
}

// finish checks size and hash at EOF: io.EOF if they match.
func (v *verifier) finish() error {
	if v.n != v.want.Size {
		return fmt.Errorf("%w: %s: %s truncated after %d of %d bytes", ErrCorrupt, v.want, v.src, v.n, v.want.Size)
	}
	var got [32]byte
	v.h.Sum(got[:0])
	if got != v.want.Hash {
		return fmt.Errorf("%w: %s: %s has sha256 %x", ErrCorrupt, v.want, v.src, got)
	}
	return io.EOF
}

// Close closes the underlying file or body.
func (v *verifier) Close() error {
	if v.c == nil {
		return nil
	}
	return v.c.Close()
}

// readVerified reads all of v (want.Size bytes plus the EOF check).
func readVerified(v *verifier) ([]byte, error) {
	buf := make([]byte, v.want.Size)
	if _, err := io.ReadFull(v, buf); err != nil {
		return nil, err
	}
	// Read on to EOF: at most one more byte, which is itself corruption.
	if _, err := io.Copy(io.Discard, v); err != nil {
		return nil, err
	}
	return buf, nil
}
