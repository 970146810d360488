package voteext_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cohortchain/cohort/app/voteext"
	"github.com/cohortchain/cohort/app/voteext/types"
)

func TestHTTPSource(t *testing.T) {
	var status int
	var body []byte
	var gotHeight string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		require.Equal(t, voteext.SidecarPath, r.URL.Path)
		gotHeight = r.URL.Query().Get("height")
		w.WriteHeader(status)
		_, _ = w.Write(body)
	}))
	defer srv.Close()
	src, err := voteext.NewHTTPSource(srv.URL)
	require.NoError(t, err)
	ctx := context.Background()

	status, body = http.StatusOK, encode(t, 12, att("verify/task", "t", "r"))
	atts, err := src.Attestations(ctx, 12)
	require.NoError(t, err)
	require.Equal(t, "12", gotHeight)
	require.Len(t, atts, 1)

	status, body = http.StatusNoContent, nil
	atts, err = src.Attestations(ctx, 12)
	require.NoError(t, err)
	require.Empty(t, atts)

	status, body = http.StatusInternalServerError, []byte("boom")
	_, err = src.Attestations(ctx, 12)
	require.ErrorContains(t, err, "500")

	status, body = http.StatusOK, encode(t, 11, att("verify/task", "t", "r"))
	_, err = src.Attestations(ctx, 12)
	require.ErrorIs(t, err, types.ErrMalformed, "an answer for another height is refused")

	status, body = http.StatusOK, make([]byte, types.MaxExtensionBytes+10)
	_, err = src.Attestations(ctx, 12)
	require.ErrorIs(t, err, types.ErrMalformed, "an oversized answer is refused")

	for _, bad := range []string{"", "localhost:7000", "ftp://x", "http://"} {
		_, err := voteext.NewHTTPSource(bad)
		require.Errorf(t, err, "address %q", bad)
	}
}

func TestHTTPSourceHonoursDeadline(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	src, err := voteext.NewHTTPSource(srv.URL)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = src.Attestations(ctx, 1)
	require.Error(t, err)
}
