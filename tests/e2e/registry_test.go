package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestRegistryFlow drives the model registry through the CLI: a model is
// registered, two versions are published (the second a fine-tune of the
// first), access is restricted, and an account outside the allow list is
// refused while a granted one is let in.
func TestRegistryFlow(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the cohortd binary")
	}
	n := newNet(t, 1, 4000, "--config", "../../config.yml")
	nd := n.nodes[0]
	nd.start(t)
	n.waitHeight(t, 0, 2, time.Minute)
	cl := n.client(t, 0)
	tx := func(from string, args ...string) { t.Helper(); cl.tx(from, args...) }
	q, addr := cl.q, cl.addr
	bob, carol := addr("bob"), addr("carol")
	weights := func(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }

	tx("alice", "registry", "register-model", "mnist-mlp", "classification",
		`{"layers":[{"kind":"dense","inputs":784,"outputs":128,"activation":"relu"},{"kind":"dense","inputs":128,"outputs":10}]}`,
		`{"spdx_id":"Apache-2.0"}`, "--description", "Fashion-MNIST classifier")
	tx("alice", "registry", "publish-version", "1", weights("v1"), "4096", "safetensors", "https://blobs.example/v1", "--semver", "1.0.0")
	tx("alice", "registry", "publish-version", "1", weights("v2"), "4096", "safetensors", "https://blobs.example/v2", "--semver", "1.1.0",
		"--provenance", `{"parent_model_id":"1","parent_version":"1"}`)

	var lin struct {
		Ancestors   []struct{ ModelID, Number string } `json:"ancestors"`
		Descendants []struct {
			ModelID string `json:"model_id"`
			Number  string `json:"number"`
		} `json:"descendants"`
	}
	q(&lin, "registry", "lineage", "1", "1")
	require.Len(t, lin.Descendants, 1)
	require.Equal(t, "2", lin.Descendants[0].Number, "version 2 is a fine-tune of version 1")

	type canUse struct {
		Allowed bool   `json:"allowed"`
		Reason  string `json:"reason"`
	}
	var c canUse
	use := func(version, who string) canUse {
		c = canUse{} // false fields are omitted from the JSON
		q(&c, "registry", "can-use", "1", version, who)
		return c
	}
	use("2", bob)
	require.False(t, c.Allowed, "registered without --public: restricted")
	require.Contains(t, c.Reason, "allow list")
	tx("alice", "registry", "grant-access", "1", carol)
	require.True(t, use("2", carol).Allowed)
	require.False(t, use("2", bob).Allowed, "bob is outside the list")

	// Over REST, and a licence change by someone else is refused.
	var rest canUse
	require.NoError(t, getJSON(n.rest(0)+"/cohort/registry/v1/models/1/versions/2/can_use/"+bob, &rest))
	require.False(t, rest.Allowed)
	r := cl.submit("bob", "registry", "set-license", "1", `{"spdx_id":"MIT"}`)
	require.NotZero(t, r.Code)
	require.Contains(t, r.RawLog, "unauthorized")
}
