package blobstore

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// blob returns n deterministic pseudo-random bytes.
func blob(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 0))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func newStore(t testing.TB, opts ...Option) *Store {
	t.Helper()
	s, err := New(t.TempDir(), opts...)
	require.NoError(t, err)
	return s
}

// tempFiles lists leftover Put temp files in the store root.
func tempFiles(t *testing.T, s *Store) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(s.Dir(), tempPrefix+"*"))
	require.NoError(t, err)
	return m
}

func TestRefStringParseJSON(t *testing.T) {
	ref := RefOf([]byte("hello"))
	require.Equal(t, "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824", ref.String())
	require.EqualValues(t, 5, ref.Size)

	got, err := Parse(ref.String(), 5)
	require.NoError(t, err)
	require.Equal(t, ref, got)
	h, err := ParseHash(ref.Hex())
	require.NoError(t, err)
	require.Equal(t, ref.Hash, h)

	j, err := json.Marshal(ref)
	require.NoError(t, err)
	require.JSONEq(t, `{"hash":"`+ref.String()+`","size":5}`, string(j))
	var back Ref
	require.NoError(t, json.Unmarshal(j, &back))
	require.Equal(t, ref, back)

	for _, bad := range []string{
		"", "sha256:", "sha256:abc", "md5:" + ref.Hex(),
		"sha256:" + strings.ToUpper(ref.Hex()),
		"sha256:" + ref.Hex()[:63] + "g",
		"sha256:" + ref.Hex() + "00",
	} {
		_, err := ParseHash(bad)
		require.ErrorIs(t, err, ErrBadRef, bad)
	}
	_, err = Parse(ref.String(), -1)
	require.ErrorIs(t, err, ErrBadRef)
	require.ErrorIs(t, json.Unmarshal([]byte(`{"hash":"sha256:00","size":1}`), &back), ErrBadRef)
}

func TestStoreRoundTrip(t *testing.T) {
	s := newStore(t)
	for _, n := range []int{0, 1, 4095, 4096, 100_000} {
		data := blob(uint64(n), n)
		ref, err := s.PutBytes(data)
		require.NoError(t, err)
		require.Equal(t, RefOf(data), ref)

		// Fan-out layout: ab/abcdef…
		_, err = os.Stat(filepath.Join(s.Dir(), ref.Hex()[:2], ref.Hex()))
		require.NoError(t, err)

		has, err := s.Has(ref)
		require.NoError(t, err)
		require.True(t, has)

		got, err := s.Get(ref, int64(n))
		require.NoError(t, err)
		require.Equal(t, data, got)

		rc, err := s.Open(ref)
		require.NoError(t, err)
		got, err = io.ReadAll(rc)
		require.NoError(t, err)
		require.NoError(t, rc.Close())
		require.Equal(t, data, got)
	}
	require.Empty(t, tempFiles(t, s))
}

func TestPutIdempotent(t *testing.T) {
	s := newStore(t)
	data := blob(1, 10_000)
	r1, err := s.PutBytes(data)
	require.NoError(t, err)
	r2, err := s.PutBytes(data)
	require.NoError(t, err)
	require.Equal(t, r1, r2)
	refs, err := s.List()
	require.NoError(t, err)
	require.Equal(t, []Ref{r1}, refs)
	require.Empty(t, tempFiles(t, s))
}

func TestPutSizeLimit(t *testing.T) {
	s := newStore(t, WithMaxSize(10))
	require.EqualValues(t, 10, s.MaxSize())
	_, err := s.PutBytes(make([]byte, 10))
	require.NoError(t, err)
	_, err = s.PutBytes(make([]byte, 11))
	require.ErrorIs(t, err, ErrTooLarge)
	require.Empty(t, tempFiles(t, s))

	// Get refuses a ref over its limit before reading.
	ref := RefOf(make([]byte, 10))
	_, err = s.Get(ref, 9)
	require.ErrorIs(t, err, ErrTooLarge)

	_, err = New(t.TempDir(), WithMaxSize(-1))
	require.Error(t, err)
}

func TestPutReaderError(t *testing.T) {
	s := newStore(t)
	_, err := s.Put(io.MultiReader(bytes.NewReader([]byte("abc")), errReader{}))
	require.ErrorContains(t, err, "boom")
	require.Empty(t, tempFiles(t, s))
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, fmt.Errorf("boom") }

func TestMissing(t *testing.T) {
	s := newStore(t)
	ref := RefOf([]byte("absent"))
	_, err := s.Open(ref)
	require.ErrorIs(t, err, ErrNotFound)
	_, err = s.Get(ref, 100)
	require.ErrorIs(t, err, ErrNotFound)
	_, err = s.Stat(ref.Hash)
	require.ErrorIs(t, err, ErrNotFound)
	has, err := s.Has(ref)
	require.NoError(t, err)
	require.False(t, has)
	require.NoError(t, s.Delete(ref), "deleting a missing blob is fine")
}

// corrupt overwrites the stored file for ref with b.
func corrupt(t *testing.T, s *Store, ref Ref, b []byte) {
	t.Helper()
	p := s.path(ref.Hash)
	require.NoError(t, os.Chmod(p, 0o644))
	require.NoError(t, os.WriteFile(p, b, 0o644))
}

func TestCorruptOnDisk(t *testing.T) {
	s := newStore(t)
	data := blob(2, 50_000)
	ref, err := s.PutBytes(data)
	require.NoError(t, err)

	// Same size, one bit flipped: detected at EOF by Open, and by Get.
	bad := bytes.Clone(data)
	bad[len(bad)/2] ^= 1
	corrupt(t, s, ref, bad)

	rc, err := s.Open(ref)
	require.NoError(t, err)
	_, err = io.ReadAll(rc)
	require.ErrorIs(t, err, ErrCorrupt)
	require.ErrorContains(t, err, "on-disk")
	// The error is sticky.
	_, err = rc.Read(make([]byte, 1))
	require.ErrorIs(t, err, ErrCorrupt)
	require.NoError(t, rc.Close())

	got, err := s.Get(ref, ref.Size)
	require.ErrorIs(t, err, ErrCorrupt)
	require.ErrorContains(t, err, "on-disk")
	require.Nil(t, got)

	// Wrong size: detected by Open at once, and by Has.
	for _, b := range [][]byte{data[:len(data)-1], append(bytes.Clone(data), 0)} {
		corrupt(t, s, ref, b)
		_, err = s.Open(ref)
		require.ErrorIs(t, err, ErrCorrupt)
		require.ErrorContains(t, err, "on-disk")
		_, err = s.Get(ref, ref.Size+10)
		require.ErrorIs(t, err, ErrCorrupt)
		_, err = s.Has(ref)
		require.ErrorIs(t, err, ErrCorrupt)
	}

	// Putting the content again repairs it.
	_, err = s.PutBytes(data)
	require.NoError(t, err)
	got, err = s.Get(ref, ref.Size)
	require.NoError(t, err)
	require.Equal(t, data, got)
}

func TestVerifierOverlong(t *testing.T) {
	data := []byte("exactly these bytes")
	ref := RefOf(data)
	v := &verifier{r: bytes.NewReader(append(bytes.Clone(data), "extra"...)), want: ref, src: "test", h: sha256.New()}
	got, err := io.ReadAll(v)
	require.ErrorIs(t, err, ErrCorrupt)
	require.Equal(t, data, got, "nothing past ref.Size is handed out")

	v = &verifier{r: bytes.NewReader(data), want: ref, src: "test", h: sha256.New()}
	_, err = readVerified(v)
	require.NoError(t, err)
}

func TestDeleteAndList(t *testing.T) {
	s := newStore(t)
	var refs []Ref
	for i := range 5 {
		ref, err := s.PutBytes(blob(uint64(i), 100+i))
		require.NoError(t, err)
		refs = append(refs, ref)
	}
	// Stray files are not blobs.
	require.NoError(t, os.WriteFile(filepath.Join(s.Dir(), "README"), []byte("x"), 0o644))
	require.NoError(t, os.MkdirAll(filepath.Join(s.Dir(), "zz"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(s.Dir(), "zz", "junk"), []byte("x"), 0o644))

	got, err := s.List()
	require.NoError(t, err)
	require.ElementsMatch(t, refs, got)
	for i := 1; i < len(got); i++ {
		require.Negative(t, bytes.Compare(got[i-1].Hash[:], got[i].Hash[:]), "sorted")
	}

	require.NoError(t, s.Delete(refs[0]))
	has, err := s.Has(refs[0])
	require.NoError(t, err)
	require.False(t, has)
	got, err = s.List()
	require.NoError(t, err)
	require.ElementsMatch(t, refs[1:], got)
}

func TestTempCleanupAtNew(t *testing.T) {
	dir := t.TempDir()
	s, err := New(dir)
	require.NoError(t, err)
	ref, err := s.PutBytes([]byte("keep me"))
	require.NoError(t, err)
	// What a crash mid-Put leaves behind.
	for _, name := range []string{tempPrefix + "123", tempPrefix + "abc"} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte("partial"), 0o600))
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "other"), []byte("x"), 0o600))
	require.Len(t, tempFiles(t, s), 2)

	s, err = New(dir)
	require.NoError(t, err)
	require.Empty(t, tempFiles(t, s))
	_, err = os.Stat(filepath.Join(dir, "other"))
	require.NoError(t, err, "only temp files are removed")
	got, err := s.Get(ref, 100)
	require.NoError(t, err)
	require.Equal(t, "keep me", string(got))
}

func TestConcurrentPuts(t *testing.T) {
	s := newStore(t)
	same := blob(42, 200_000)
	const n = 8
	var wg sync.WaitGroup
	refs := make([]Ref, 2*n)
	errs := make([]error, 2*n)
	for i := range n {
		wg.Add(2)
		go func() {
			defer wg.Done()
			refs[i], errs[i] = s.PutBytes(same)
		}()
		go func() {
			defer wg.Done()
			refs[n+i], errs[n+i] = s.PutBytes(blob(uint64(i), 50_000+i))
		}()
	}
	// Readers racing the writers see the whole blob or nothing.
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				got, err := s.Get(RefOf(same), int64(len(same)))
				if err == nil {
					assert.Equal(t, same, got)
				} else {
					assert.ErrorIs(t, err, ErrNotFound)
				}
			}
		}()
	}
	wg.Wait()
	for i := range 2 * n {
		require.NoError(t, errs[i])
	}
	for i := range n {
		require.Equal(t, RefOf(same), refs[i])
		got, err := s.Get(refs[n+i], 1<<20)
		require.NoError(t, err)
		require.Equal(t, blob(uint64(i), 50_000+i), got)
	}
	all, err := s.List()
	require.NoError(t, err)
	require.Len(t, all, n+1)
	require.Empty(t, tempFiles(t, s))
}

func BenchmarkPut64MiB(b *testing.B) {
	s := newStore(b)
	data := blob(7, 64<<20)
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.PutBytes(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGet64MiB(b *testing.B) {
	s := newStore(b)
	data := blob(7, 64<<20)
	ref, err := s.PutBytes(data)
	require.NoError(b, err)
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.Get(ref, ref.Size); err != nil {
			b.Fatal(err)
		}
	}
}
