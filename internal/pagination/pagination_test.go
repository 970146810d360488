package pagination

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cosmos/cosmos-sdk/types/query"
)

func TestCap(t *testing.T) {
	require.EqualValues(t, query.DefaultLimit, Cap(nil).Limit)
	require.EqualValues(t, query.DefaultLimit, Cap(&query.PageRequest{}).Limit)
	require.EqualValues(t, 7, Cap(&query.PageRequest{Limit: 7}).Limit)
	req := &query.PageRequest{Limit: 1 << 40, Key: []byte("k")}
	got := Cap(req)
	require.EqualValues(t, MaxLimit, got.Limit)
	require.Equal(t, []byte("k"), got.Key)
	require.EqualValues(t, 1<<40, req.Limit, "the request itself is not changed")
}
