package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cohortchain/cohort/app/voteext"
	"github.com/cohortchain/cohort/app/voteext/types"
)

// fakeSidecar serves attestations the way cohort-sidecar will: for each
// height it attests one result that every honest sidecar computes alike.
// A hung sidecar never answers in time.
type fakeSidecar struct {
	hung  bool
	mu    sync.Mutex
	calls map[int64]int
	url   string
}

const attestKind = "e2e/echo"

func attestationFor(height int64) types.Attestation {
	sum := sha256.Sum256([]byte(strconv.FormatInt(height, 10)))
	return types.Attestation{Kind: attestKind, Subject: []byte(fmt.Sprintf("height-%d", height)), ResultHash: sum[:]}
}

func startSidecar(t *testing.T, hung bool) *fakeSidecar {
	t.Helper()
	s := &fakeSidecar{hung: hung, calls: map[int64]int{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != voteext.SidecarPath {
			http.NotFound(w, r)
			return
		}
		h, err := strconv.ParseInt(r.URL.Query().Get("height"), 10, 64)
		if err != nil {
			http.Error(w, "bad height", http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		s.calls[h]++
		s.mu.Unlock()
		if s.hung {
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
			return
		}
		ve := types.VoteExtension{Height: h, Attestations: []types.Attestation{attestationFor(h)}}
		bz, _ := ve.Marshal()
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(bz)
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	s.url = "http://" + ln.Addr().String()
	return s
}

func (s *fakeSidecar) called() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.calls)
}

// setAppToml replaces the first line of a node's app.toml that starts with
// key with "key = value".
func setAppToml(t *testing.T, home, key, value string) {
	t.Helper()
	path := filepath.Join(home, "config", "app.toml")
	bz, err := os.ReadFile(path)
	require.NoError(t, err)
	lines := strings.Split(string(bz), "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, key+" = ") {
			lines[i] = key + " = " + value
			require.NoError(t, os.WriteFile(path, []byte(strings.Join(lines, "\n")), 0o600))
			return
		}
	}
	t.Fatalf("app.toml has no %s", key)
}

// setSidecar points a node's app.toml at a sidecar.
func setSidecar(t *testing.T, home, url string) {
	t.Helper()
	path := filepath.Join(home, "config", "app.toml")
	bz, err := os.ReadFile(path)
	require.NoError(t, err)
	s := strings.Replace(string(bz), "address = \"\"\n\n# How long a precommit", fmt.Sprintf("address = %q\n\n# How long a precommit", url), 1)
	require.NotEqual(t, string(bz), s, "app.toml has no [sidecar] address to set")
	require.NoError(t, os.WriteFile(path, []byte(s), 0o600))
}

// TestFourValidators runs four validators as separate processes. Three have
// a sidecar that attests; the fourth has one that hangs. Two execute blocks
// with Block-STM, two sequentially. It checks that the vote-extension hook
// runs on every validator, that the hung sidecar does not stall the chain,
// that the three attestations reach quorum in the next block's PreBlocker,
// that both executors agree on the state of blocks full of transfers, and
// that with one validator killed the others go on and the killed one
// catches up when it returns.
func TestFourValidators(t *testing.T) {
	if testing.Short() {
		t.Skip("runs four cohortd processes")
	}
	n := newNet(t, 4, 2000)
	sidecars := make([]*fakeSidecar, 4)
	for i := range sidecars {
		sidecars[i] = startSidecar(t, i == 3)
		setSidecar(t, n.nodes[i].home, sidecars[i].url)
		if i%2 == 0 {
			setAppToml(t, n.nodes[i].home, "block-executor", `"block-stm"`)
		}
	}
	for _, nd := range n.nodes {
		nd.start(t)
	}
	n.waitHeight(t, 0, 6, 2*time.Minute)

	// The hook ran on every validator, the hung one included.
	for i, s := range sidecars {
		require.Greaterf(t, s.called(), 0, "ExtendVote never asked node%d's sidecar", i)
	}

	// Some block after vote extensions were switched on carries the tally
	// of three extended votes and an agreement on the echo attestation.
	var agreed event
	for h := int64(3); h <= n.height(0) && agreed.Type == ""; h++ {
		res := n.blockResults(t, 0, h)
		tallies := res.events(voteext.EventTypeTally)
		require.Lenf(t, tallies, 1, "block %d has no tally", h)
		require.Equal(t, "4", tallies[0].attr(voteext.AttrVotes))
		for _, e := range res.events(voteext.EventTypeAgreement) {
			require.Equal(t, strconv.FormatInt(h-1, 10), strings.TrimPrefix(string(mustHexDecode(t, e.attr(voteext.AttrSubject))), "height-"))
			require.Equal(t, attestKind, e.attr(voteext.AttrKind))
			require.Equal(t, "30000", e.attr(voteext.AttrPower), "three of four equal validators attested")
			agreed = e
		}
	}
	require.NotEmpty(t, agreed.Type, "no block recorded an agreement")

	// Transfers between two accounts, in the same blocks: Block-STM and
	// sequential nodes must compute the same app hash, or the chain halts.
	home := n.nodes[0].home
	bob := strings.TrimSpace(run(t, "keys", "show", "bob", "-a", "--home", home))
	alice := strings.TrimSpace(run(t, "keys", "show", "alice", "-a", "--home", home))
	for round := 0; round < 3; round++ {
		var sent []txResult
		for _, tr := range [][2]string{{"alice", bob}, {"bob", alice}} {
			var r txResult
			runJSON(t, &r, "tx", "bank", "send", tr[0], tr[1], "1000ucohort", "--fees", "500ucohort", "-y", "--home", home)
			require.Zero(t, r.Code, r.RawLog)
			sent = append(sent, r)
		}
		for _, r := range sent {
			var done txResult
			runJSON(t, &done, "q", "wait-tx", r.TxHash, "--timeout", "60s", "--home", home)
			require.Zero(t, done.Code, done.RawLog)
		}
	}
	hTx := n.height(0)
	for i := range n.nodes {
		n.waitHeight(t, i, hTx+2, time.Minute)
	}

	// Kill one validator: the other three keep committing.
	n.nodes[3].stop(syscall.SIGKILL)
	hKill := n.height(0)
	n.waitHeight(t, 0, hKill+4, time.Minute)

	// It comes back and catches up.
	n.nodes[3].start(t)
	target := n.height(0)
	n.waitHeight(t, 3, target, 2*time.Minute)
	n.waitHeight(t, 0, target+2, time.Minute)
}

func mustHexDecode(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	require.NoError(t, err)
	return b
}
