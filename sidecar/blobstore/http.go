package blobstore

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// BlobPath is the URL path under which blobs are served: BlobPath+<hex>.
const BlobPath = "/v1/blobs/sha256/"

// UploadPath is the URL path that accepts PUT uploads when enabled.
const UploadPath = "/v1/blobs"

// HandlerOption configures Handler.
type HandlerOption func(*handler)

// AllowPut enables PUT /v1/blobs, which stores the request body (at most
// the store's MaxSize) and answers 201 with the Ref as JSON. It is off by
// default: a provider's sidecar only serves its own results.
func AllowPut() HandlerOption { return func(h *handler) { h.allowPut = true } }

type handler struct {
	store    *Store
	allowPut bool
}

// Handler serves store over HTTP:
//
//	GET|HEAD /v1/blobs/sha256/<hex>  200 with Content-Length and ETag "sha256:<hex>",
//	                                 304 on a matching If-None-Match,
//	                                 404 when missing, 400 for a malformed hash
//	PUT /v1/blobs                    201 with {"hash":"sha256:<hex>","size":N}
//	                                 (only with AllowPut; 405 otherwise, 413 over MaxSize)
//
// Blobs are verified as they are served. The last byte is held back until
// the hash has been checked; if the file on disk turns out corrupt the
// connection is aborted, so a client sees a truncated body, never a
// complete response of bad data. (An empty blob is checked up front.)
func Handler(store *Store, opts ...HandlerOption) http.Handler {
	h := &handler{store: store}
	for _, o := range opts {
		o(h)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+BlobPath+"{hex}", h.get) // also HEAD
	mux.HandleFunc(UploadPath, h.put)
	return mux
}

func (h *handler) get(w http.ResponseWriter, r *http.Request) {
	hx := r.PathValue("hex")
	hash, err := ParseHash(hx)
	if err == nil && strings.HasPrefix(hx, refPrefix) {
		err = fmt.Errorf("%w: %q: want bare hex", ErrBadRef, hx)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	ref, err := h.store.Stat(hash)
	if errors.Is(err, ErrNotFound) {
		http.Error(w, "blob not found", http.StatusNotFound)
		return
	}
	if err != nil {
		http.Error(w, "blob store error", http.StatusInternalServerError)
		return
	}
	etag := `"` + ref.String() + `"`
	if inm := r.Header.Get("If-None-Match"); inm != "" && etagMatch(inm, etag) {
		w.Header().Set("ETag", etag)
		w.WriteHeader(http.StatusNotModified)
		return
	}
	rc, err := h.store.Open(ref)
	if errors.Is(err, ErrNotFound) {
		http.Error(w, "blob not found", http.StatusNotFound)
		return
	}
	if err != nil {
		http.Error(w, "blob store error", http.StatusInternalServerError)
		return
	}
	defer rc.Close()
	v := rc.(*verifier)
	if ref.Size == 0 {
		// Nothing to hold back below: verify before answering.
		if _, err := readVerified(v); err != nil {
			http.Error(w, "blob corrupt on disk", http.StatusInternalServerError)
			return
		}
	}
	hd := w.Header()
	hd.Set("Content-Type", "application/octet-stream")
	hd.Set("Content-Length", strconv.FormatInt(ref.Size, 10))
	hd.Set("ETag", etag)
	hd.Set("Cache-Control", "public, max-age=31536000, immutable")
	hd.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	if ref.Size == 0 {
		return
	}
	// Hold back the last byte until the hash is checked, so that a client
	// never receives a complete response of corrupt data: on corruption the
	// connection is aborted and the client sees a truncated body.
	if _, err := io.CopyN(w, v, ref.Size-1); err != nil {
		panic(http.ErrAbortHandler)
	}
	// Flush so that, small blobs included, the client sees headers and a
	// truncated body (ErrCorrupt) rather than a bare connection reset.
	http.NewResponseController(w).Flush()
	var last [1]byte
	if _, err := io.ReadFull(v, last[:]); err != nil {
		panic(http.ErrAbortHandler)
	}
	if _, err := io.Copy(io.Discard, v); err != nil { // the EOF check
		panic(http.ErrAbortHandler)
	}
	w.Write(last[:])
}

// etagMatch reports whether an If-None-Match header names etag.
func etagMatch(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == etag {
			return true
		}
	}
	return false
}

func (h *handler) put(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPut || !h.allowPut {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	max := h.store.MaxSize()
	if r.ContentLength > max {
		http.Error(w, fmt.Sprintf("body over %d bytes", max), http.StatusRequestEntityTooLarge)
		return
	}
	ref, err := h.store.Put(http.MaxBytesReader(w, r.Body, max+1))
	var mbe *http.MaxBytesError
	switch {
	case errors.Is(err, ErrTooLarge) || errors.As(err, &mbe):
		http.Error(w, fmt.Sprintf("body over %d bytes", max), http.StatusRequestEntityTooLarge)
		return
	case err != nil:
		http.Error(w, "store failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Location", BlobPath+ref.Hex())
	w.WriteHeader(http.StatusCreated)
	json.NewEncoder(w).Encode(ref)
}

// Client fetches blobs from a remote store served by Handler and trusts
// nothing the server says: every byte is checked against the Ref.
type Client struct {
	// BaseURL is the server's root, e.g. "http://10.0.0.5:7070".
	BaseURL string
	// HTTP is the client to use; nil means http.DefaultClient.
	HTTP *http.Client
}

func (c *Client) httpClient() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return http.DefaultClient
}

// ClientFor returns a client for the server of a blob location URL (any
// URL on it: its scheme and host name the server; its path is not used,
// since blobs are fetched by hash).
func ClientFor(location string) (*Client, error) {
	u, err := url.Parse(location)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%w: location %q is not an http(s) URL", ErrBadRef, location)
	}
	return &Client{BaseURL: u.Scheme + "://" + u.Host}, nil
}

// URL is where ref is served.
func (c *Client) URL(ref Ref) string {
	return strings.TrimRight(c.BaseURL, "/") + BlobPath + ref.Hex()
}

// FetchHash downloads the blob named by hash alone (its size unknown, as
// for a model's global weights on-chain): a HEAD learns the size, which
// must be at most maxSize, then Fetch verifies the bytes against both.
func (c *Client) FetchHash(ctx context.Context, hash [32]byte, maxSize int64) ([]byte, error) {
	ref := Ref{Hash: hash}
	url := c.URL(ref)
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, url, nil)
	if err != nil {
		return nil, fmt.Errorf("blobstore: stat %s: %w", ref, err)
	}
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: stat %s at %s: %v", ErrUnavailable, ref, url, err)
	}
	resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return nil, fmt.Errorf("%w: %s at %s", ErrNotFound, ref, url)
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("%w: %s at %s: status %s", ErrUnavailable, ref, url, resp.Status)
	case resp.ContentLength < 0:
		return nil, fmt.Errorf("%w: %s at %s: no Content-Length", ErrUnavailable, ref, url)
	}
	ref.Size = resp.ContentLength
	return c.Fetch(ctx, ref, maxSize)
}

// Fetch downloads ref whole and verifies it. It refuses with ErrTooLarge a
// ref over maxSize before asking the server; see FetchTo for the rest.
func (c *Client) Fetch(ctx context.Context, ref Ref, maxSize int64) ([]byte, error) {
	if ref.Size > maxSize {
		return nil, fmt.Errorf("%w: %s has %d bytes, limit %d", ErrTooLarge, ref, ref.Size, maxSize)
	}
	v, err := c.open(ctx, ref)
	if err != nil {
		return nil, err
	}
	defer v.Close()
	return readVerified(v)
}

// FetchTo streams ref into w, reading at most ref.Size bytes from the
// server. Errors wrap ErrNotFound (404), ErrCorrupt (Content-Length other
// than ref.Size, or a body that is shorter, longer or hashes differently),
// ErrUnavailable (another status), or are the transport's or the
// context's. w has received unverified bytes when FetchTo fails: discard
// them.
func (c *Client) FetchTo(ctx context.Context, ref Ref, w io.Writer) error {
	v, err := c.open(ctx, ref)
	if err != nil {
		return err
	}
	defer v.Close()
	if _, err := io.Copy(w, v); err != nil {
		return err
	}
	return nil
}

// open issues the GET and checks status and Content-Length.
func (c *Client) open(ctx context.Context, ref Ref) (*verifier, error) {
	url := c.URL(ref)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("blobstore: fetch %s: %w", ref, err)
	}
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return nil, fmt.Errorf("blobstore: fetch %s: %w", ref, err)
	}
	switch {
	case resp.StatusCode == http.StatusNotFound:
		resp.Body.Close()
		return nil, fmt.Errorf("%w: %s at %s", ErrNotFound, ref, url)
	case resp.StatusCode != http.StatusOK:
		resp.Body.Close()
		return nil, fmt.Errorf("%w: %s at %s: status %s", ErrUnavailable, ref, url, resp.Status)
	case resp.ContentLength >= 0 && resp.ContentLength != ref.Size:
		resp.Body.Close()
		return nil, fmt.Errorf("%w: %s at %s: Content-Length %d, want %d", ErrCorrupt, ref, url, resp.ContentLength, ref.Size)
	}
	return &verifier{r: resp.Body, c: resp.Body, want: ref, src: url, h: sha256.New()}, nil
}

// Put uploads the content of r to a server with AllowPut and returns the
// Ref the server reports. A body over the server's limit gives ErrTooLarge.
func (c *Client) Put(ctx context.Context, r io.Reader) (Ref, error) {
	url := strings.TrimRight(c.BaseURL, "/") + UploadPath
	h := sha256.New()
	cw := &countWriter{w: h}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, url, io.TeeReader(r, cw))
	if err != nil {
		return Ref{}, fmt.Errorf("blobstore: put: %w", err)
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return Ref{}, fmt.Errorf("blobstore: put to %s: %w", url, err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusCreated, http.StatusOK:
	case http.StatusRequestEntityTooLarge:
		return Ref{}, fmt.Errorf("%w: rejected by %s", ErrTooLarge, url)
	default:
		return Ref{}, fmt.Errorf("%w: put to %s: status %s", ErrUnavailable, url, resp.Status)
	}
	var ref Ref
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<10)).Decode(&ref); err != nil {
		return Ref{}, fmt.Errorf("blobstore: put to %s: bad response: %w", url, err)
	}
	sent := Ref{Size: cw.n}
	h.Sum(sent.Hash[:0])
	if ref != sent {
		return Ref{}, fmt.Errorf("%w: put to %s: server stored %s (%d bytes), sent %s (%d bytes)",
			ErrCorrupt, url, ref, ref.Size, sent, sent.Size)
	}
	return ref, nil
}

// countWriter counts the bytes it passes on.
type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
