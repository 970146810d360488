package keeper

import (
	"context"
	"encoding/hex"
	"fmt"

	"cosmossdk.io/collections"

	sdk "github.com/cosmos/cosmos-sdk/types"

	markettypes "github.com/cohortchain/cohort/x/market/types"
	"github.com/cohortchain/cohort/x/registry/types"
)

// PublishVersion records the next version of the owner's model with its
// provenance. A parent must exist; a producing market job must exist, be
// completed and have been bought by the publisher; a federated run may
// only be named by the federated module itself (PublishFromRun), so it is
// refused here. The link
// to the job is recorded both ways: the version names the job, and the job
// maps to the version.
func (k Keeper) PublishVersion(ctx context.Context, msg *types.MsgPublishVersion) (uint64, error) {
	m, err := k.ownedModel(ctx, msg.Owner, msg.ModelId)
	if err != nil {
		return 0, err
	}
	if m.Frozen {
		return 0, fmt.Errorf("%w: %s", types.ErrFrozen, m.FrozenReason)
	}
	if err := types.ValidateVersionFields(msg); err != nil {
		return 0, err
	}
	if msg.Semver != "" {
		if has, err := k.BySemver.Has(ctx, collections.Join(m.Id, msg.Semver)); err != nil {
			return 0, err
		} else if has {
			return 0, fmt.Errorf("%w: %s", types.ErrDuplicateSemver, msg.Semver)
		}
	}
	p := msg.Provenance
	if p.ParentModelId != 0 {
		if _, err := k.GetVersion(ctx, p.ParentModelId, p.ParentVersion); err != nil {
			return 0, fmt.Errorf("%w: %d/%d", types.ErrUnknownParent, p.ParentModelId, p.ParentVersion)
		}
	}
	if p.JobId != 0 {
		job, err := k.market.GetJob(ctx, p.JobId)
		if err != nil {
			return 0, fmt.Errorf("%w: job %d does not exist", types.ErrProvenance, p.JobId)
		}
		if job.State != markettypes.JOB_STATE_COMPLETED {
			return 0, fmt.Errorf("%w: job %d is %s, not completed", types.ErrProvenance, p.JobId, job.State)
		}
		if job.Client != msg.Owner {
			return 0, fmt.Errorf("%w: job %d was bought by %s", types.ErrProvenance, p.JobId, job.Client)
		}
		if has, err := k.ByJob.Has(ctx, p.JobId); err != nil {
			return 0, err
		} else if has {
			return 0, fmt.Errorf("%w: job %d already produced a version", types.ErrProvenance, p.JobId)
		}
	}
	if p.FederatedRunId != 0 {
		return 0, fmt.Errorf("%w: federated run %d: only the federated module publishes a run's version, when the run completes", types.ErrProvenance, p.FederatedRunId)
	}

	return k.appendVersion(ctx, m, msg)
}

// appendVersion records msg (already checked) as model m's next version,
// moves m's latest version on and emits EventVersionPublished: the one
// write path of every publication.
func (k Keeper) appendVersion(ctx context.Context, m types.Model, msg *types.MsgPublishVersion) (uint64, error) {
	p := msg.Provenance
	number := m.LatestVersion + 1
	v := types.Version{ModelId: m.Id, Number: number, Semver: msg.Semver, WeightsHash: msg.WeightsHash, Size_: msg.Size_,
		Format: msg.Format, Locations: msg.Locations, Metrics: msg.Metrics, Provenance: p,
		Status: types.VERSION_STATUS_ACTIVE, PublishedHeight: sdk.UnwrapSDKContext(ctx).BlockHeight()}
	if err := k.setVersion(ctx, v); err != nil {
		return 0, err
	}
	m.LatestVersion = number
	if err := k.Models.Set(ctx, m.Id, m); err != nil {
		return 0, err
	}
	return number, events(ctx).EmitTypedEvent(&types.EventVersionPublished{
		ModelId: m.Id, Number: number, WeightsHash: hex.EncodeToString(msg.WeightsHash),
		ParentModelId: p.ParentModelId, ParentVersion: p.ParentVersion, JobId: p.JobId, FederatedRunId: p.FederatedRunId,
	})
}

// PublishFromRun records the next version of model modelID from the final
// weights of x/federated run runID; the federated module calls it when the
// run completes, having checked that the run completed. The registry's own
// rules apply as to any publication: the model exists and is not frozen,
// and only its owner may publish, so client (the run's client) must own
// the model (an allow-listed user of a restricted model, or anyone training
// a public one, may run the training but not publish into someone else's
// model). parentVersion (the version the run started from, 0: none) must
// exist and becomes the new version's parent, so lineage links the run's
// result to its starting point; the new version takes the parent's size
// and format (a run trains the same architecture). The version's
// provenance names the run: its rounds, their weights hashes and
// participants are queryable in x/federated by that id. A run publishes at
// most one version. On error nothing is written.
func (k Keeper) PublishFromRun(ctx context.Context, client string, modelID, runID uint64, weightsHash []byte, location string, parentVersion uint64) (uint64, error) {
	if runID == 0 {
		return 0, fmt.Errorf("%w: no federated run", types.ErrProvenance)
	}
	m, err := k.ownedModel(ctx, client, modelID)
	if err != nil {
		return 0, err
	}
	if m.Frozen {
		return 0, fmt.Errorf("%w: %s", types.ErrFrozen, m.FrozenReason)
	}
	if has, err := k.ByRun.Has(ctx, runID); err != nil {
		return 0, err
	} else if has {
		return 0, fmt.Errorf("%w: federated run %d already produced a version", types.ErrProvenance, runID)
	}
	msg := &types.MsgPublishVersion{Owner: client, ModelId: modelID, WeightsHash: weightsHash, Size_: 1, Format: "unknown",
		Provenance: types.Provenance{FederatedRunId: runID}}
	if location != "" {
		msg.Locations = []string{location}
	}
	if parentVersion != 0 {
		parent, err := k.GetVersion(ctx, modelID, parentVersion)
		if err != nil {
			return 0, fmt.Errorf("%w: %d/%d", types.ErrUnknownParent, modelID, parentVersion)
		}
		msg.Size_, msg.Format = parent.Size_, parent.Format
		msg.Provenance.ParentModelId, msg.Provenance.ParentVersion = modelID, parentVersion
	}
	if err := types.ValidateVersionFields(msg); err != nil {
		return 0, err
	}
	return k.appendVersion(ctx, m, msg)
}

// setVersion stores v and its lineage, job and semver indexes.
func (k Keeper) setVersion(ctx context.Context, v types.Version) error {
	key := collections.Join(v.ModelId, v.Number)
	p := v.Provenance
	if p.ParentModelId != 0 {
		if err := k.Children.Set(ctx, collections.Join(collections.Join(p.ParentModelId, p.ParentVersion), key)); err != nil {
			return err
		}
	}
	if p.JobId != 0 {
		if err := k.ByJob.Set(ctx, p.JobId, types.VersionRef{ModelId: v.ModelId, Number: v.Number}); err != nil {
			return err
		}
	}
	if p.FederatedRunId != 0 {
		if err := k.ByRun.Set(ctx, p.FederatedRunId, types.VersionRef{ModelId: v.ModelId, Number: v.Number}); err != nil {
			return err
		}
	}
	if v.Semver != "" {
		if err := k.BySemver.Set(ctx, collections.Join(v.ModelId, v.Semver), v.Number); err != nil {
			return err
		}
	}
	return k.Versions.Set(ctx, key, v)
}

// SetVersionStatus deprecates, yanks or reinstates a version (owner only).
func (k Keeper) SetVersionStatus(ctx context.Context, owner string, id, number uint64, status types.VersionStatus) error {
	if _, err := k.ownedModel(ctx, owner, id); err != nil {
		return err
	}
	if _, ok := types.VersionStatus_name[int32(status)]; !ok || status == types.VERSION_STATUS_UNSPECIFIED {
		return fmt.Errorf("%w: status %d", types.ErrInvalidVersion, status)
	}
	v, err := k.GetVersion(ctx, id, number)
	if err != nil {
		return err
	}
	v.Status = status
	if err := k.Versions.Set(ctx, collections.Join(id, number), v); err != nil {
		return err
	}
	return events(ctx).EmitTypedEvent(&types.EventVersionStatusChanged{ModelId: id, Number: number, Status: status.String()})
}

// MaxLineage caps the depth and the size of a lineage walk.
const MaxLineage = 256

// Lineage returns the ancestors of a version, nearest first, and its
// descendants, breadth first, each walk bounded by maxDepth levels and
// MaxLineage versions.
func (k Keeper) Lineage(ctx context.Context, id, number uint64, maxDepth uint32) (ancestors, descendants []types.VersionRef, truncated bool, err error) {
	if maxDepth == 0 || maxDepth > MaxLineage {
		maxDepth = MaxLineage
	}
	v, err := k.GetVersion(ctx, id, number)
	if err != nil {
		return nil, nil, false, err
	}
	for depth := uint32(0); v.Provenance.ParentModelId != 0; depth++ {
		if depth == maxDepth {
			truncated = true
			break
		}
		p := v.Provenance
		ancestors = append(ancestors, types.VersionRef{ModelId: p.ParentModelId, Number: p.ParentVersion})
		if v, err = k.GetVersion(ctx, p.ParentModelId, p.ParentVersion); err != nil {
			return nil, nil, false, err
		}
	}
	level := []VersionKey{collections.Join(id, number)}
	for depth := uint32(0); len(level) > 0; depth++ {
		if depth == maxDepth {
			truncated = true
			break
		}
		var next []VersionKey
		for _, parent := range level {
			it, err := k.Children.Iterate(ctx, collections.NewPrefixedPairRange[VersionKey, VersionKey](parent))
			if err != nil {
				return nil, nil, false, err
			}
			keys, err := it.Keys()
			if err != nil {
				return nil, nil, false, err
			}
			for _, key := range keys {
				if len(descendants) == MaxLineage {
					return ancestors, descendants, true, nil
				}
				child := key.K2()
				descendants = append(descendants, types.VersionRef{ModelId: child.K1(), Number: child.K2()})
				next = append(next, child)
			}
		}
		level = next
	}
	return ancestors, descendants, truncated, nil
}
