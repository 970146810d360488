package blobstore

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// serve starts a test server for h and returns a client for it.
func serve(t testing.TB, h http.Handler) (*Client, *httptest.Server) {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &Client{BaseURL: srv.URL + "/", HTTP: srv.Client()}, srv
}

func TestHTTPRoundTrip(t *testing.T) {
	s := newStore(t)
	c, srv := serve(t, Handler(s))
	for _, n := range []int{0, 1, 100_000} {
		data := blob(uint64(n), n)
		ref, err := s.PutBytes(data)
		require.NoError(t, err)

		got, err := c.Fetch(context.Background(), ref, int64(n))
		require.NoError(t, err)
		require.Equal(t, data, got)

		var buf bytes.Buffer
		require.NoError(t, c.FetchTo(context.Background(), ref, &buf))
		require.Equal(t, data, buf.Bytes())

		resp, err := srv.Client().Get(c.URL(ref))
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.EqualValues(t, n, resp.ContentLength)
		require.Equal(t, `"`+ref.String()+`"`, resp.Header.Get("ETag"))
		require.Equal(t, "application/octet-stream", resp.Header.Get("Content-Type"))
	}
}

func TestHTTPHeadAndConditional(t *testing.T) {
	s := newStore(t)
	c, srv := serve(t, Handler(s))
	data := blob(3, 12345)
	ref, err := s.PutBytes(data)
	require.NoError(t, err)

	resp, err := srv.Client().Head(c.URL(ref))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, strconv.Itoa(len(data)), resp.Header.Get("Content-Length"))
	require.Equal(t, `"`+ref.String()+`"`, resp.Header.Get("ETag"))

	resp, err = srv.Client().Head(c.URL(RefOf([]byte("nope"))))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNotFound, resp.StatusCode)

	req, err := http.NewRequest(http.MethodGet, c.URL(ref), nil)
	require.NoError(t, err)
	req.Header.Set("If-None-Match", `"`+ref.String()+`"`)
	resp, err = srv.Client().Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNotModified, resp.StatusCode)
}

func TestHTTPNotFoundAndMalformed(t *testing.T) {
	s := newStore(t)
	c, srv := serve(t, Handler(s))
	_, err := c.Fetch(context.Background(), RefOf([]byte("absent")), 100)
	require.ErrorIs(t, err, ErrNotFound)
	require.ErrorIs(t, c.FetchTo(context.Background(), RefOf([]byte("absent")), &bytes.Buffer{}), ErrNotFound)

	hx := RefOf(nil).Hex()
	for _, bad := range []string{"xyz", hx[:63], hx + "0", strings.ToUpper(hx), "sha256:" + hx} {
		resp, err := srv.Client().Get(srv.URL + BlobPath + bad)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusBadRequest, resp.StatusCode, bad)
	}
}

func TestHTTPPut(t *testing.T) {
	data := blob(4, 5000)
	ctx := context.Background()

	// Off by default.
	s := newStore(t)
	c, _ := serve(t, Handler(s))
	_, err := c.Put(ctx, bytes.NewReader(data))
	require.ErrorIs(t, err, ErrUnavailable)
	require.ErrorContains(t, err, "405")
	has, err := s.Has(RefOf(data))
	require.NoError(t, err)
	require.False(t, has)

	// On, with a size limit.
	s = newStore(t, WithMaxSize(int64(len(data))))
	c, srv := serve(t, Handler(s, AllowPut()))
	ref, err := c.Put(ctx, bytes.NewReader(data))
	require.NoError(t, err)
	require.Equal(t, RefOf(data), ref)
	got, err := c.Fetch(ctx, ref, ref.Size)
	require.NoError(t, err)
	require.Equal(t, data, got)

	_, err = c.Put(ctx, bytes.NewReader(append(bytes.Clone(data), 0)))
	require.ErrorIs(t, err, ErrTooLarge)
	// Without a Content-Length the limit still holds.
	req, err := http.NewRequest(http.MethodPut, srv.URL+UploadPath, struct{ *bytes.Reader }{bytes.NewReader(make([]byte, 2*len(data)))})
	require.NoError(t, err)
	req.ContentLength = -1
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
	require.Empty(t, tempFiles(t, s))
}

// liar serves the blob ref with the body and Content-Length it is given
// (cl < 0: none, chunked), then optionally aborts the connection.
func liar(ref Ref, body []byte, cl int, abort bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != BlobPath+ref.Hex() {
			http.NotFound(w, r)
			return
		}
		if cl >= 0 {
			w.Header().Set("Content-Length", strconv.Itoa(cl))
		}
		w.WriteHeader(http.StatusOK)
		w.Write(body)
		w.(http.Flusher).Flush()
		if abort {
			panic(http.ErrAbortHandler)
		}
	})
}

func TestClientDetectsLyingServer(t *testing.T) {
	data := blob(5, 40_000)
	ref := RefOf(data)
	n := len(data)
	other := bytes.Clone(data)
	other[123] ^= 0x80
	longer := append(bytes.Clone(data), "and more"...)

	for name, tc := range map[string]struct {
		h    http.Handler
		want error
	}{
		"other bytes":                 {liar(ref, other, n, false), ErrCorrupt},
		"truncated body":              {liar(ref, data[:n/2], n, true), ErrCorrupt},
		"longer body, chunked":        {liar(ref, longer, -1, false), ErrCorrupt},
		"longer body and length":      {liar(ref, longer, len(longer), false), ErrCorrupt},
		"short body and length":       {liar(ref, data[:n-1], n-1, false), ErrCorrupt},
		"short body, chunked":         {liar(ref, data[:n-1], -1, false), ErrCorrupt},
		"content-length too large":    {liar(ref, data, n+1, true), ErrCorrupt},
		"other bytes, chunked":        {liar(ref, other, -1, false), ErrCorrupt},
		"not found":                   {http.NotFoundHandler(), ErrNotFound},
		"server error":                {http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "x", 500) }), ErrUnavailable},
		"honest, no content-length":   {liar(ref, data, -1, false), nil},
		"honest, with content-length": {liar(ref, data, n, false), nil},
	} {
		t.Run(name, func(t *testing.T) {
			c, _ := serve(t, tc.h)
			got, err := c.Fetch(context.Background(), ref, int64(n))
			var buf bytes.Buffer
			err2 := c.FetchTo(context.Background(), ref, &buf)
			if tc.want == nil {
				require.NoError(t, err)
				require.NoError(t, err2)
				require.Equal(t, data, got)
				require.Equal(t, data, buf.Bytes())
				return
			}
			require.ErrorIs(t, err, tc.want)
			require.Nil(t, got)
			require.ErrorIs(t, err2, tc.want)
			require.LessOrEqual(t, buf.Len(), n, "never reads past ref.Size")
		})
	}
}

func TestHTTPServesCorruptOnDisk(t *testing.T) {
	s := newStore(t)
	c, _ := serve(t, Handler(s))
	data := blob(6, 100_000)
	ref, err := s.PutBytes(data)
	require.NoError(t, err)
	bad := bytes.Clone(data)
	bad[len(bad)-1] ^= 1
	corrupt(t, s, ref, bad)
	_, err = c.Fetch(context.Background(), ref, ref.Size)
	require.ErrorIs(t, err, ErrCorrupt)
	require.ErrorContains(t, err, "truncated", "the server holds back the last byte of a corrupt blob")

	corrupt(t, s, ref, data[:10])
	_, err = c.Fetch(context.Background(), ref, ref.Size)
	require.ErrorIs(t, err, ErrCorrupt, "a wrong-size file is served with its own length")
}

func TestFetchTooLarge(t *testing.T) {
	var hits int
	c, _ := serve(t, http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits++ }))
	_, err := c.Fetch(context.Background(), Ref{Size: 1 << 40}, 1<<20)
	require.ErrorIs(t, err, ErrTooLarge)
	require.Zero(t, hits, "refused before asking the server")
}

// stall sends half the body, then waits for the client to go away.
func stall(t *testing.T, ref Ref, data []byte, beforeHeaders bool) http.Handler {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) }) // runs before srv.Close (LIFO)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !beforeHeaders {
			w.Header().Set("Content-Length", strconv.Itoa(len(data)))
			w.WriteHeader(http.StatusOK)
			w.Write(data[:len(data)/2])
			w.(http.Flusher).Flush()
		}
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
}

func TestFetchContext(t *testing.T) {
	data := blob(8, 100_000)
	ref := RefOf(data)
	for _, beforeHeaders := range []bool{true, false} {
		t.Run("cancel/beforeHeaders="+strconv.FormatBool(beforeHeaders), func(t *testing.T) {
			c, _ := serve(t, stall(t, ref, data, beforeHeaders))
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(50*time.Millisecond, cancel)
			start := time.Now()
			_, err := c.Fetch(ctx, ref, ref.Size)
			require.ErrorIs(t, err, context.Canceled)
			require.False(t, errors.Is(err, ErrCorrupt), "cancellation is not corruption")
			require.Less(t, time.Since(start), 5*time.Second)
		})
		t.Run("timeout/beforeHeaders="+strconv.FormatBool(beforeHeaders), func(t *testing.T) {
			c, _ := serve(t, stall(t, ref, data, beforeHeaders))
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			err := c.FetchTo(ctx, ref, &bytes.Buffer{})
			require.ErrorIs(t, err, context.DeadlineExceeded)
		})
	}
}

func BenchmarkFetch64MiB(b *testing.B) {
	s := newStore(b)
	data := blob(7, 64<<20)
	ref, err := s.PutBytes(data)
	require.NoError(b, err)
	c, _ := serve(b, Handler(s))
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := c.Fetch(context.Background(), ref, ref.Size); err != nil {
			b.Fatal(err)
		}
	}
}
