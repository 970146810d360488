package keeper_test

import (
	"crypto/sha256"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/cohortchain/cohort/app"
	"github.com/cohortchain/cohort/testutil"
	marketkeeper "github.com/cohortchain/cohort/x/market/keeper"
	markettypes "github.com/cohortchain/cohort/x/market/types"
	providerkeeper "github.com/cohortchain/cohort/x/provider/keeper"
	providertypes "github.com/cohortchain/cohort/x/provider/types"
	"github.com/cohortchain/cohort/x/registry/keeper"
	"github.com/cohortchain/cohort/x/registry/types"
)

type fixture struct {
	c     *testutil.Chain
	ctx   sdk.Context
	k     keeper.Keeper
	msg   types.MsgServer
	q     types.QueryServer
	owner sdk.AccAddress
	other sdk.AccAddress
}

func setup(t testing.TB) *fixture {
	c := testutil.NewChain(t)
	ctx := c.Context(t)
	return &fixture{c: c, ctx: ctx, k: c.App.RegistryKeeper, msg: keeper.NewMsgServer(c.App.RegistryKeeper),
		q: keeper.NewQueryServer(c.App.RegistryKeeper), owner: testutil.Addr("owner"), other: testutil.Addr("other")}
}

func arch() types.Architecture {
	return types.Architecture{Layers: []types.Layer{{Kind: "dense", Inputs: 784, Outputs: 128, Activation: "relu"}, {Kind: "dense", Inputs: 128, Outputs: 10}}}
}

func (f *fixture) register(t testing.TB, owner sdk.AccAddress, name string, public bool) uint64 {
	t.Helper()
	res, err := f.msg.RegisterModel(f.ctx, &types.MsgRegisterModel{Owner: owner.String(), Name: name, Task: "classification",
		Architecture: arch(), License: types.License{SpdxId: "Apache-2.0"}, Public: public})
	require.NoError(t, err)
	return res.ModelId
}

func hash(s string) []byte { h := sha256.Sum256([]byte(s)); return h[:] }

func publish(owner sdk.AccAddress, model uint64, weights string, prov types.Provenance) *types.MsgPublishVersion {
	return &types.MsgPublishVersion{Owner: owner.String(), ModelId: model, WeightsHash: hash(weights), Size_: 4096,
		Format: "safetensors", Locations: []string{"https://blobs.example/" + weights},
		Metrics: []types.Metric{{Name: "accuracy", Value: "0.91", Dataset: "fashion-mnist/test"}}, Provenance: prov}
}

func (f *fixture) publish(t testing.TB, owner sdk.AccAddress, model uint64, weights string, prov types.Provenance) uint64 {
	t.Helper()
	res, err := f.msg.PublishVersion(f.ctx, publish(owner, model, weights, prov))
	require.NoError(t, err)
	return res.Number
}

func TestRegisterPublishAndFineTune(t *testing.T) {
	f := setup(t)
	id := f.register(t, f.owner, "mnist-mlp", true)
	require.EqualValues(t, 1, f.publish(t, f.owner, id, "w1", types.Provenance{DatasetCommitments: [][]byte{hash("data")}}))
	// A fine-tune of version 1, in another model.
	tuned := f.register(t, f.owner, "mnist-mlp-tuned", true)
	require.EqualValues(t, 1, f.publish(t, f.owner, tuned, "w2", types.Provenance{ParentModelId: id, ParentVersion: 1}))
	require.EqualValues(t, 2, f.publish(t, f.owner, id, "w3", types.Provenance{ParentModelId: id, ParentVersion: 1}))

	m, err := f.q.ModelByName(f.ctx, &types.QueryModelByNameRequest{Owner: f.owner.String(), Name: "mnist-mlp"})
	require.NoError(t, err)
	require.EqualValues(t, 2, m.Model.LatestVersion)
	vs, err := f.q.Versions(f.ctx, &types.QueryVersionsRequest{ModelId: id})
	require.NoError(t, err)
	require.Len(t, vs.Versions, 2)
	lin, err := f.q.Lineage(f.ctx, &types.QueryLineageRequest{ModelId: id, Number: 1})
	require.NoError(t, err)
	require.Empty(t, lin.Ancestors)
	require.ElementsMatch(t, []types.VersionRef{{ModelId: id, Number: 2}, {ModelId: tuned, Number: 1}}, lin.Descendants)
	lin, err = f.q.Lineage(f.ctx, &types.QueryLineageRequest{ModelId: tuned, Number: 1})
	require.NoError(t, err)
	require.Equal(t, []types.VersionRef{{ModelId: id, Number: 1}}, lin.Ancestors)

	for _, req := range []*types.QueryModelsRequest{{Owner: f.owner.String()}, {Task: "classification"}, {License: "Apache-2.0"}, {}} {
		res, err := f.q.Models(f.ctx, req)
		require.NoError(t, err)
		require.Len(t, res.Models, 2, "%+v", req)
	}
	res, err := f.q.Models(f.ctx, &types.QueryModelsRequest{License: "MIT"})
	require.NoError(t, err)
	require.Empty(t, res.Models)
}

func TestAccessLicenceStatusTransferFreeze(t *testing.T) {
	f := setup(t)
	id := f.register(t, f.owner, "private", false)
	f.publish(t, f.owner, id, "w1", types.Provenance{})
	can := func(who sdk.AccAddress) bool {
		ok, _, err := f.k.CanUse(f.ctx, id, 1, who)
		require.NoError(t, err)
		return ok
	}
	require.True(t, can(f.owner))
	require.False(t, can(f.other), "restricted, not on the list")
	_, err := f.msg.GrantAccess(f.ctx, &types.MsgGrantAccess{Owner: f.owner.String(), ModelId: id, Grantee: f.other.String()})
	require.NoError(t, err)
	require.True(t, can(f.other))
	_, err = f.msg.RevokeAccess(f.ctx, &types.MsgRevokeAccess{Owner: f.owner.String(), ModelId: id, Grantee: f.other.String()})
	require.NoError(t, err)
	require.False(t, can(f.other))
	_, err = f.msg.SetAccess(f.ctx, &types.MsgSetAccess{Owner: f.owner.String(), ModelId: id, Public: true})
	require.NoError(t, err)
	require.True(t, can(f.other))

	// Yanked versions stay visible and are not usable; deprecated ones are.
	_, err = f.msg.SetVersionStatus(f.ctx, &types.MsgSetVersionStatus{Owner: f.owner.String(), ModelId: id, Number: 1, Status: types.VERSION_STATUS_DEPRECATED})
	require.NoError(t, err)
	require.True(t, can(f.other))
	_, err = f.msg.SetVersionStatus(f.ctx, &types.MsgSetVersionStatus{Owner: f.owner.String(), ModelId: id, Number: 1, Status: types.VERSION_STATUS_YANKED})
	require.NoError(t, err)
	require.False(t, can(f.owner))
	v, err := f.q.Version(f.ctx, &types.QueryVersionRequest{ModelId: id, Number: 1})
	require.NoError(t, err)
	require.Equal(t, types.VERSION_STATUS_YANKED, v.Version.Status)
	_, err = f.msg.SetVersionStatus(f.ctx, &types.MsgSetVersionStatus{Owner: f.owner.String(), ModelId: id, Number: 1, Status: types.VERSION_STATUS_ACTIVE})
	require.NoError(t, err)

	_, err = f.msg.SetLicense(f.ctx, &types.MsgSetLicense{Owner: f.owner.String(), ModelId: id,
		License: types.License{SpdxId: "LicenseRef-Cohort-NC", CustomTerms: "non-commercial", PricePerInference: sdk.NewInt64Coin(app.BaseDenom, 3)}})
	require.NoError(t, err)
	res, err := f.q.Models(f.ctx, &types.QueryModelsRequest{License: "LicenseRef-Cohort-NC"})
	require.NoError(t, err)
	require.Len(t, res.Models, 1)
	res, err = f.q.Models(f.ctx, &types.QueryModelsRequest{License: "Apache-2.0"})
	require.NoError(t, err)
	require.Empty(t, res.Models, "the old licence index entry is gone")

	_, err = f.msg.TransferOwnership(f.ctx, &types.MsgTransferOwnership{Owner: f.owner.String(), ModelId: id, NewOwner: f.other.String()})
	require.NoError(t, err)
	_, err = f.msg.PublishVersion(f.ctx, publish(f.owner, id, "w2", types.Provenance{}))
	require.ErrorIs(t, err, types.ErrUnauthorized, "the old owner can no longer publish")
	f.publish(t, f.other, id, "w2", types.Provenance{})

	_, err = f.msg.FreezeModel(f.ctx, &types.MsgFreezeModel{Authority: f.owner.String(), ModelId: id, Frozen: true})
	require.ErrorIs(t, err, types.ErrUnauthorized)
	_, err = f.msg.FreezeModel(f.ctx, &types.MsgFreezeModel{Authority: f.k.Authority(), ModelId: id, Frozen: true, Reason: "takedown"})
	require.NoError(t, err)
	require.False(t, can(f.other))
	_, err = f.msg.PublishVersion(f.ctx, publish(f.other, id, "w3", types.Provenance{}))
	require.ErrorIs(t, err, types.ErrFrozen)
}

// A version produced by a market job names the job, which must have
// completed and been bought by the publisher; the job maps back to it.
func TestProvenanceFromMarketJob(t *testing.T) {
	f := setup(t)
	client, provider := f.owner, testutil.Addr("gpu")
	f.c.Fund(t, f.ctx, 10_000_000_000, client, provider)
	_, err := providerkeeper.NewMsgServer(f.c.App.ProviderKeeper).RegisterProvider(f.ctx, &providertypes.MsgRegisterProvider{
		Operator: provider.String(), Info: providertypes.ProviderInfo{Moniker: "gpu", Hardware: providertypes.Hardware{CpuCores: 8}, Endpoints: []string{"https://gpu.example"}},
		Collateral: sdk.NewInt64Coin(app.BaseDenom, 2_000_000_000)})
	require.NoError(t, err)
	market := marketkeeper.NewMsgServer(f.c.App.MarketKeeper)
	job, err := market.CreateJob(f.ctx, &markettypes.MsgCreateJob{Client: client.String(), Kind: markettypes.JOB_KIND_TRAINING,
		Spec: markettypes.JobSpec{ModelId: "mnist-mlp", DataRequirement: "fashion-mnist"}, Units: 10,
		MaxPrice: sdk.NewInt64Coin(app.BaseDenom, 10), Budget: sdk.NewInt64Coin(app.BaseDenom, 100), DeadlineBlocks: 100})
	require.NoError(t, err)
	id := f.register(t, f.owner, "trained", true)

	_, err = f.msg.PublishVersion(f.ctx, publish(f.owner, id, "w", types.Provenance{JobId: job.JobId}))
	require.ErrorIs(t, err, types.ErrProvenance, "the job is still open")
	_, err = f.msg.PublishVersion(f.ctx, publish(f.owner, id, "w", types.Provenance{JobId: 999}))
	require.ErrorIs(t, err, types.ErrProvenance, "no such job")

	_, err = market.PlaceBid(f.ctx, &markettypes.MsgPlaceBid{Provider: provider.String(), JobId: job.JobId, Price: sdk.NewInt64Coin(app.BaseDenom, 5), Deposit: sdk.NewInt64Coin(app.BaseDenom, 1_000_000)})
	require.NoError(t, err)
	_, err = market.AcceptBid(f.ctx, &markettypes.MsgAcceptBid{Client: client.String(), JobId: job.JobId, Provider: provider.String()})
	require.NoError(t, err)
	_, err = market.SubmitResult(f.ctx, &markettypes.MsgSubmitResult{Provider: provider.String(), JobId: job.JobId,
		Result: markettypes.Result{Hash: hash("w"), Size_: 4096, Location: "https://gpu.example/w", CheckpointRoot: hash("checkpoints"), TotalSteps: 100}})
	require.NoError(t, err)
	_, err = market.AcceptResult(f.ctx, &markettypes.MsgAcceptResult{Client: client.String(), JobId: job.JobId})
	require.NoError(t, err)

	n := f.publish(t, f.owner, id, "w", types.Provenance{JobId: job.JobId})
	byJob, err := f.q.VersionByJob(f.ctx, &types.QueryVersionByJobRequest{JobId: job.JobId})
	require.NoError(t, err)
	require.Equal(t, id, byJob.Version.ModelId)
	require.Equal(t, n, byJob.Version.Number)
	_, err = f.msg.PublishVersion(f.ctx, publish(f.owner, id, "w2", types.Provenance{JobId: job.JobId}))
	require.ErrorIs(t, err, types.ErrProvenance, "one job produces one version")
	// Someone else's job is not their provenance.
	other := f.register(t, f.other, "copy", true)
	_, err = f.msg.PublishVersion(f.ctx, publish(f.other, other, "w", types.Provenance{JobId: job.JobId}))
	require.ErrorIs(t, err, types.ErrProvenance)
}

func TestBadInput(t *testing.T) {
	f := setup(t)
	id := f.register(t, f.owner, "m", true)
	f.publish(t, f.owner, id, "w1", types.Provenance{})
	reg := func(mut func(*types.MsgRegisterModel)) func() error {
		return func() error {
			m := &types.MsgRegisterModel{Owner: f.owner.String(), Name: "x", Task: "classification", Architecture: arch(), License: types.License{SpdxId: "MIT"}}
			mut(m)
			_, err := f.msg.RegisterModel(f.ctx, m)
			return err
		}
	}
	pub := func(mut func(*types.MsgPublishVersion)) func() error {
		return func() error {
			m := publish(f.owner, id, "w9", types.Provenance{})
			mut(m)
			_, err := f.msg.PublishVersion(f.ctx, m)
			return err
		}
	}
	long := fmt.Sprintf("%0*d", types.MaxDescriptionLen+1, 0)
	cases := []struct {
		name string
		run  func() error
		want error
	}{
		{"duplicate name", reg(func(m *types.MsgRegisterModel) { m.Name = "m" }), types.ErrDuplicateName},
		{"bad name", reg(func(m *types.MsgRegisterModel) { m.Name = "Has Spaces" }), types.ErrInvalidModel},
		{"description too long", reg(func(m *types.MsgRegisterModel) { m.Description = long }), types.ErrInvalidModel},
		{"no task", reg(func(m *types.MsgRegisterModel) { m.Task = "" }), types.ErrInvalidModel},
		{"no architecture", reg(func(m *types.MsgRegisterModel) { m.Architecture = types.Architecture{} }), types.ErrInvalidModel},
		{"spec hash not 32 bytes", reg(func(m *types.MsgRegisterModel) {
			m.Architecture = types.Architecture{SpecFormat: "onnx", SpecHash: []byte{1}}
		}), types.ErrInvalidModel},
		{"bad licence", reg(func(m *types.MsgRegisterModel) { m.License.SpdxId = "not a licence!" }), types.ErrInvalidLicense},
		{"custom licence without terms", reg(func(m *types.MsgRegisterModel) { m.License.SpdxId = "LicenseRef-X" }), types.ErrInvalidLicense},
		{"bad owner", reg(func(m *types.MsgRegisterModel) { m.Owner = "cosmos1bad" }), types.ErrInvalidModel},
		{"weights hash not 32 bytes", pub(func(m *types.MsgPublishVersion) { m.WeightsHash = []byte{1, 2, 3} }), types.ErrInvalidVersion},
		{"zero size", pub(func(m *types.MsgPublishVersion) { m.Size_ = 0 }), types.ErrInvalidVersion},
		{"no location", pub(func(m *types.MsgPublishVersion) { m.Locations = nil }), types.ErrInvalidVersion},
		{"bad location", pub(func(m *types.MsgPublishVersion) { m.Locations = []string{"ftp://x"} }), types.ErrInvalidVersion},
		{"bad semver", pub(func(m *types.MsgPublishVersion) { m.Semver = "v1" }), types.ErrInvalidVersion},
		{"metric not a number", pub(func(m *types.MsgPublishVersion) { m.Metrics[0].Value = "good" }), types.ErrInvalidVersion},
		{"unknown parent", pub(func(m *types.MsgPublishVersion) { m.Provenance = types.Provenance{ParentModelId: id, ParentVersion: 7} }), types.ErrUnknownParent},
		{"cycle: parent is the version being published", pub(func(m *types.MsgPublishVersion) { m.Provenance = types.Provenance{ParentModelId: id, ParentVersion: 2} }), types.ErrUnknownParent},
		{"half a parent", pub(func(m *types.MsgPublishVersion) { m.Provenance = types.Provenance{ParentModelId: id} }), types.ErrInvalidVersion},
		{"bad dataset commitment", pub(func(m *types.MsgPublishVersion) { m.Provenance.DatasetCommitments = [][]byte{{1}} }), types.ErrInvalidVersion},
		{"federated run only via the federated module", pub(func(m *types.MsgPublishVersion) { m.Provenance.FederatedRunId = 3 }), types.ErrProvenance},
		{"publish by non-owner", pub(func(m *types.MsgPublishVersion) { m.Owner = f.other.String() }), types.ErrUnauthorized},
		{"unknown model", pub(func(m *types.MsgPublishVersion) { m.ModelId = 99 }), types.ErrModelNotFound},
		{"licence change by non-owner", func() error {
			_, err := f.msg.SetLicense(f.ctx, &types.MsgSetLicense{Owner: f.other.String(), ModelId: id, License: types.License{SpdxId: "MIT"}})
			return err
		}, types.ErrUnauthorized},
		{"grant by non-owner", func() error {
			_, err := f.msg.GrantAccess(f.ctx, &types.MsgGrantAccess{Owner: f.other.String(), ModelId: id, Grantee: f.other.String()})
			return err
		}, types.ErrUnauthorized},
		{"revoke someone without a grant", func() error {
			_, err := f.msg.RevokeAccess(f.ctx, &types.MsgRevokeAccess{Owner: f.owner.String(), ModelId: id, Grantee: f.other.String()})
			return err
		}, types.ErrUnauthorized},
		{"unknown status", func() error {
			_, err := f.msg.SetVersionStatus(f.ctx, &types.MsgSetVersionStatus{Owner: f.owner.String(), ModelId: id, Number: 1, Status: 42})
			return err
		}, types.ErrInvalidVersion},
		{"transfer to an owner of the same name", func() error {
			f.register(t, f.other, "m", true)
			_, err := f.msg.TransferOwnership(f.ctx, &types.MsgTransferOwnership{Owner: f.owner.String(), ModelId: id, NewOwner: f.other.String()})
			return err
		}, types.ErrDuplicateName},
	}
	before, err := f.k.ExportGenesis(f.ctx)
	require.NoError(t, err)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.run()
			require.ErrorIs(t, err, tc.want)
		})
	}
	// Only the model the last case registered on purpose was added.
	after, err := f.k.ExportGenesis(f.ctx)
	require.NoError(t, err)
	require.Equal(t, before.Versions, after.Versions)
	require.Equal(t, before.Models[0], after.Models[0])
	require.Len(t, after.Models, len(before.Models)+1)
}

// TestLineageOfManyVersions builds a tree of a few hundred versions and
// checks the lineage walks both ways and their bounds.
func TestLineageOfManyVersions(t *testing.T) {
	f := setup(t)
	root := f.register(t, f.owner, "root", true)
	f.publish(t, f.owner, root, "r1", types.Provenance{})
	// A chain of 150 versions, each fine-tuned from the previous one, and
	// beside it 150 children of version 1 in another model.
	for i := 2; i <= 150; i++ {
		f.publish(t, f.owner, root, fmt.Sprintf("r%d", i), types.Provenance{ParentModelId: root, ParentVersion: uint64(i - 1)})
	}
	side := f.register(t, f.owner, "side", true)
	for i := 1; i <= 150; i++ {
		f.publish(t, f.owner, side, fmt.Sprintf("s%d", i), types.Provenance{ParentModelId: root, ParentVersion: 1})
	}
	anc, _, truncated, err := f.k.Lineage(f.ctx, root, 150, 0)
	require.NoError(t, err)
	require.Len(t, anc, 149)
	require.False(t, truncated)
	require.Equal(t, types.VersionRef{ModelId: root, Number: 149}, anc[0], "nearest first")

	_, desc, truncated, err := f.k.Lineage(f.ctx, root, 1, 0)
	require.NoError(t, err)
	require.Len(t, desc, keeper.MaxLineage, "the walk is capped")
	require.True(t, truncated)

	anc, _, truncated, err = f.k.Lineage(f.ctx, root, 150, 10)
	require.NoError(t, err)
	require.Len(t, anc, 10)
	require.True(t, truncated)

	_, desc, _, err = f.k.Lineage(f.ctx, root, 148, 0)
	require.NoError(t, err)
	require.Equal(t, []types.VersionRef{{ModelId: root, Number: 149}, {ModelId: root, Number: 150}}, desc)

	res, err := f.q.Versions(f.ctx, &types.QueryVersionsRequest{ModelId: root})
	require.NoError(t, err)
	require.Len(t, res.Versions, 100, "default page")
}

func TestGenesisRoundTrip(t *testing.T) {
	f := setup(t)
	a := f.register(t, f.owner, "a", false)
	f.publish(t, f.owner, a, "w1", types.Provenance{})
	b := f.register(t, f.other, "b", true)
	f.publish(t, f.other, b, "w2", types.Provenance{ParentModelId: a, ParentVersion: 1})
	_, err := f.msg.GrantAccess(f.ctx, &types.MsgGrantAccess{Owner: f.owner.String(), ModelId: a, Grantee: f.other.String()})
	require.NoError(t, err)
	gs, err := f.k.ExportGenesis(f.ctx)
	require.NoError(t, err)
	require.NoError(t, gs.Validate(f.k.AddressCodec()))

	g := testutil.NewChain(t)
	ctx := g.Context(t)
	require.NoError(t, g.App.RegistryKeeper.InitGenesis(ctx, *gs))
	again, err := g.App.RegistryKeeper.ExportGenesis(ctx)
	require.NoError(t, err)
	require.Equal(t, gs, again)
	_, desc, _, err := g.App.RegistryKeeper.Lineage(ctx, a, 1, 0)
	require.NoError(t, err)
	require.Len(t, desc, 1, "lineage index rebuilt")

	broken := *gs
	broken.Versions = append([]types.Version{}, gs.Versions...)
	broken.Versions[1].Provenance.ParentVersion = 9
	require.ErrorIs(t, broken.Validate(f.k.AddressCodec()), types.ErrInvalidGenesis)
}

func TestPublishFromFederatedRun(t *testing.T) {
	f := setup(t)
	id := f.register(t, f.owner, "fed", false)
	f.publish(t, f.owner, id, "w0", types.Provenance{})
	owner := f.owner.String()
	loc := "https://agg.example/final"

	// Errors write nothing.
	_, err := f.k.PublishFromRun(f.ctx, owner, 99, 7, hash("final"), loc, 1)
	require.ErrorIs(t, err, types.ErrModelNotFound)
	_, err = f.k.PublishFromRun(f.ctx, f.other.String(), id, 7, hash("final"), loc, 1)
	require.ErrorIs(t, err, types.ErrUnauthorized, "only the model's owner may publish")
	_, err = f.k.PublishFromRun(f.ctx, owner, id, 7, hash("final"), loc, 5)
	require.ErrorIs(t, err, types.ErrUnknownParent)
	_, err = f.k.PublishFromRun(f.ctx, owner, id, 7, []byte{1}, loc, 1)
	require.ErrorIs(t, err, types.ErrInvalidVersion)
	_, err = f.k.PublishFromRun(f.ctx, owner, id, 0, hash("final"), loc, 1)
	require.ErrorIs(t, err, types.ErrProvenance)
	m, err := f.k.GetModel(f.ctx, id)
	require.NoError(t, err)
	require.Equal(t, uint64(1), m.LatestVersion)

	// A run may not be named through MsgPublishVersion.
	_, err = f.msg.PublishVersion(f.ctx, publish(f.owner, id, "w1", types.Provenance{FederatedRunId: 7}))
	require.ErrorIs(t, err, types.ErrProvenance)

	n, err := f.k.PublishFromRun(f.ctx, owner, id, 7, hash("final"), loc, 1)
	require.NoError(t, err)
	require.Equal(t, uint64(2), n)
	got, err := f.q.Version(f.ctx, &types.QueryVersionRequest{ModelId: id, Number: n})
	require.NoError(t, err)
	v := got.Version
	require.Equal(t, uint64(7), v.Provenance.FederatedRunId)
	require.Equal(t, types.Provenance{ParentModelId: id, ParentVersion: 1, FederatedRunId: 7}, v.Provenance)
	require.Equal(t, hash("final"), v.WeightsHash)
	require.Equal(t, []string{loc}, v.Locations)
	require.Equal(t, "safetensors", v.Format, "from the parent")
	require.Equal(t, uint64(4096), v.Size_)
	require.Equal(t, types.VERSION_STATUS_ACTIVE, v.Status)
	byRun, err := f.q.VersionByFederatedRun(f.ctx, &types.QueryVersionByFederatedRunRequest{RunId: 7})
	require.NoError(t, err)
	require.Equal(t, v, byRun.Version)
	_, err = f.q.VersionByFederatedRun(f.ctx, &types.QueryVersionByFederatedRunRequest{RunId: 8})
	require.Error(t, err)
	lin, err := f.q.Lineage(f.ctx, &types.QueryLineageRequest{ModelId: id, Number: 1})
	require.NoError(t, err)
	require.Equal(t, []types.VersionRef{{ModelId: id, Number: 2}}, lin.Descendants)
	lin, err = f.q.Lineage(f.ctx, &types.QueryLineageRequest{ModelId: id, Number: 2})
	require.NoError(t, err)
	require.Equal(t, []types.VersionRef{{ModelId: id, Number: 1}}, lin.Ancestors)

	// A run publishes once.
	_, err = f.k.PublishFromRun(f.ctx, owner, id, 7, hash("again"), loc, 1)
	require.ErrorIs(t, err, types.ErrProvenance)

	// Frozen models take no versions.
	_, err = f.msg.FreezeModel(f.ctx, &types.MsgFreezeModel{Authority: f.k.Authority(), ModelId: id, Frozen: true, Reason: "takedown"})
	require.NoError(t, err)
	_, err = f.k.PublishFromRun(f.ctx, owner, id, 8, hash("final8"), loc, 1)
	require.ErrorIs(t, err, types.ErrFrozen)

	// The run index survives a genesis round trip, and a run named twice is refused.
	gs, err := f.k.ExportGenesis(f.ctx)
	require.NoError(t, err)
	require.NoError(t, gs.Validate(f.k.AddressCodec()))
	g := setup(t)
	require.NoError(t, g.k.InitGenesis(g.ctx, *gs))
	byRun, err = g.q.VersionByFederatedRun(g.ctx, &types.QueryVersionByFederatedRunRequest{RunId: 7})
	require.NoError(t, err)
	require.Equal(t, uint64(2), byRun.Version.Number)
	bad := *gs
	bad.Versions = append([]types.Version(nil), gs.Versions...)
	bad.Versions[0].Provenance.FederatedRunId = 7
	require.ErrorIs(t, bad.Validate(f.k.AddressCodec()), types.ErrInvalidGenesis)
}
