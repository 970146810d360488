package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestFederatedRunWithByzantineParties runs the main job (scripts/demo.sh)
// on synthetic data with the real binaries: 4 validators with sidecars and
// 6 providers, of which one flips the sign of its updates, one commits to
// a blob its server does not have, and one never submits; validator 1's
// sidecar attests a wrong aggregate, and validator 2's sidecar is killed
// after its first aggregate and started again. The run must still
// complete: every round finalised by the honest validators' agreement, the
// bad blob rejected, the silent provider missing, every round recomputed
// in-process with equal hashes, and the final model published to the
// registry.
func TestFederatedRunWithByzantineParties(t *testing.T) {
	out, log := runDemo(t, "ROUNDS=2", "PROVIDERS=6", "HIDDEN=16", "DEADLINE=12",
		"ATTACKS=3:sign-flip,4:corrupt-blob,5:silent", "VALIDATOR_ATTACK=1:wrong-aggregate", "RESTART_SIDECAR=2")

	require.Contains(t, log, "RUN_STATE_COMPLETED: 2 rounds finalised; published as registry model 1 version 2")
	require.Contains(t, log, "replay: 2 of 2 finalised rounds recomputed in-process with equal update and weights hashes")
	require.Contains(t, log, `"federated_run_id": "1"`)
	require.Contains(t, log, "killed validator 2's sidecar")
	require.Contains(t, log, "restarted it")
	rows := tableRows(log)
	for _, f := range rows {
		line := strings.Join(f, " ")
		require.Equal(t, "6", f[2], "selected: %s", line)
		require.Equal(t, "5", f[3], "updates (the silent provider sends none): %s", line)
		rejected, err := strconv.Atoi(f[5])
		require.NoError(t, err)
		require.GreaterOrEqual(t, rejected, 1, "the corrupt blob must be rejected: %s", line)
		require.Equal(t, "equal", f[11], line)
	}
	require.Len(t, rows, 2, log)

	lying, err := os.ReadFile(filepath.Join(out, "sidecar1.log"))
	require.NoError(t, err)
	require.Contains(t, string(lying), "the validators agreed on another result than this sidecar's")
	restarted, err := os.ReadFile(filepath.Join(out, "sidecar2.log"))
	require.NoError(t, err)
	require.Equal(t, 2, strings.Count(string(restarted), "sidecar running"), "sidecar 2 ran twice")
	require.NotContains(t, string(restarted), "corrupt")
}

// TestFederatedVerifiedUpdates runs the main job with verified updates
// (VERIFY_UPDATES=1): 4 providers join with commitments to their examples,
// provider 3 fakes a quarter of its local steps (skip-steps). Every update
// is checked by the validators' committee re-executing its local steps
// from the revealed batches: the honest providers pass every check and
// keep their collateral, provider 3 fails its check and is slashed
// (and jailed); the rounds still finalise and replay with the chain's
// hashes.
func TestFederatedVerifiedUpdates(t *testing.T) {
	_, log := runDemo(t, "ROUNDS=2", "PROVIDERS=4", "HIDDEN=16", "DEADLINE=12", "LOCAL_STEPS=8",
		"VERIFY_UPDATES=1", "ATTACKS=3:skip-steps")
	require.Contains(t, log, "RUN_STATE_COMPLETED: 2 rounds finalised")
	require.Contains(t, log, "replay: 2 of 2 finalised rounds recomputed in-process with equal update and weights hashes")
	verdicts := regexp.MustCompile(`verify: provider (\d) passed=(\d+) failed=(\d+) unavailable=(\d+) collateral=(\d+)`).FindAllStringSubmatch(log, -1)
	require.Len(t, verdicts, 4, log)
	for _, v := range verdicts {
		if v[1] == "3" {
			require.NotEqual(t, "0", v[3], "the step-skipping provider fails the check of its update (once slashed it is jailed and no longer selected): %s", v[0])
			require.Equal(t, "0", v[2], v[0])
			require.NotEqual(t, "1000000000", v[5], "and is slashed: %s", v[0])
			continue
		}
		require.Equal(t, "2", v[2], "an honest provider passes the check of each of its updates: %s", v[0])
		require.Equal(t, "0", v[3], v[0])
		require.Equal(t, "0", v[4], v[0])
	}
}

// TestFederatedClientDPRun runs the main job with client-level
// differential privacy (PRIVACY=client-dp) on synthetic data: 4 providers,
// one of which sends −4 × its noised update. Every round must finalise
// with the sign-flipped update rejected by the client-dp norm bound, be
// re-aggregated in-process from the committed (privately noised) blobs
// with the chain's weights hash, and spend the chain's ε.
func TestFederatedClientDPRun(t *testing.T) {
	out, log := runDemo(t, "ROUNDS=2", "PROVIDERS=4", "HIDDEN=16", "DEADLINE=12",
		"ATTACKS=3:sign-flip", "PRIVACY=client-dp")

	require.Contains(t, log, "RUN_STATE_COMPLETED: 2 rounds finalised")
	require.Contains(t, log, "replay: 2 of 2 finalised rounds re-aggregated in-process from the committed (privately noised) update blobs, with equal weights hashes")
	require.Contains(t, log, "client-dp: ε = ")
	rows := tableRows(log)
	for _, f := range rows {
		line := strings.Join(f, " ")
		require.Equal(t, "4", f[3], "updates: %s", line)
		require.Equal(t, "3", f[4], "accepted: %s", line)
		require.Equal(t, "1", f[5], "the sign-flipped update must be rejected: %s", line)
		require.Contains(t, line, "updates: private (noised), aggregate: equal")
	}
	require.Len(t, rows, 2, log)
	state, err := os.ReadFile(filepath.Join(out, "sidecar0", "state.json"))
	require.NoError(t, err)
	require.Contains(t, string(state), "above the client-dp bound")
}

// TestFederatedSecureAggregationRun runs the main job with secure
// aggregation (PRIVACY=secagg) on synthetic data: 5 providers, provider 0
// acting through authz grants to a hot key, and provider 3 dropping out
// after it has shared its keys. Every round must finalise with the four
// survivors' masked updates accepted (the dropped provider's masks
// recovered from the others' shares), and be unmasked again in-process
// from the chain's record with the chain's weights hash.
func TestFederatedSecureAggregationRun(t *testing.T) {
	out, log := runDemo(t, "ROUNDS=2", "PROVIDERS=5", "HIDDEN=16", "DEADLINE=10",
		"ATTACKS=3:drop-after-sharing", "MIN_PARTICIPANTS=4", "GRANTED=0", "PRIVACY=secagg")

	require.Contains(t, log, "provider0's sidecar signs with hot0 under authz grants")
	require.Contains(t, log, "RUN_STATE_COMPLETED: 2 rounds finalised; published as registry model 1 version 2")
	require.Contains(t, log, "replay: 2 of 2 finalised rounds unmasked and re-aggregated in-process")
	rows := tableRows(log)
	for _, f := range rows {
		line := strings.Join(f, " ")
		require.Equal(t, "5", f[2], "selected: %s", line)
		require.Equal(t, "4", f[3], "updates (the drop-out sends none): %s", line)
		require.Equal(t, "4", f[4], "accepted: %s", line)
		require.Contains(t, line, "updates: masked (secure aggregation), aggregate: equal")
	}
	require.Len(t, rows, 2, log)
	granted, err := os.ReadFile(filepath.Join(out, "provider0.log"))
	require.NoError(t, err)
	require.Contains(t, string(granted), "submitted masked update")
	dropped, err := os.ReadFile(filepath.Join(out, "provider3.log"))
	require.NoError(t, err)
	require.NotContains(t, string(dropped), "submitted masked update")
}

// runDemo runs scripts/demo.sh on synthetic data with env (NAME=value)
// and returns its output folder and log; it skips under -short.
func runDemo(t *testing.T, env ...string) (out, log string) {
	t.Helper()
	if testing.Short() {
		t.Skip("runs a 4-validator network with sidecars and providers")
	}
	out = t.TempDir()
	script, err := filepath.Abs("../../scripts/demo.sh")
	require.NoError(t, err)
	cmd := exec.Command("bash", script)
	cmd.Env = append(append(os.Environ(), "OUT="+out, "DATA=synthetic"), env...)
	b, err := cmd.CombinedOutput()
	log = string(b)
	require.NoError(t, err, log)
	return out, log
}

// tableRows returns the fields of the round rows of watch's table, in
// order: round, try, selected, updates, accepted, rejected, accuracy,
// paid, ..., replay.
func tableRows(log string) [][]string {
	var rows [][]string
	for _, line := range strings.Split(log, "\n") {
		f := strings.Fields(line)
		if len(f) >= 12 && f[0] == strconv.Itoa(len(rows)+1) {
			rows = append(rows, f)
		}
	}
	return rows
}
