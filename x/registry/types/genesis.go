package types

import (
	"fmt"

	"cosmossdk.io/core/address"
)

// Validate checks ids, owners, unique names per owner, versions of known
// models numbered within latest_version, and parents that exist.
func (gs GenesisState) Validate(ac address.Codec) error {
	if gs.NextModelId == 0 {
		return fmt.Errorf("%w: next_model_id must be at least 1", ErrInvalidGenesis)
	}
	models := map[uint64]Model{}
	names := map[string]bool{}
	for i, m := range gs.Models {
		if m.Id == 0 || m.Id >= gs.NextModelId {
			return fmt.Errorf("%w: models[%d].id %d", ErrInvalidGenesis, i, m.Id)
		}
		if _, dup := models[m.Id]; dup {
			return fmt.Errorf("%w: models[%d] repeats id %d", ErrInvalidGenesis, i, m.Id)
		}
		if _, err := ac.StringToBytes(m.Owner); err != nil {
			return fmt.Errorf("%w: models[%d].owner: %v", ErrInvalidGenesis, i, err)
		}
		if err := ValidateModelFields(m.Name, m.Description, m.Task, m.Architecture, m.License); err != nil {
			return fmt.Errorf("%w: models[%d]: %v", ErrInvalidGenesis, i, err)
		}
		key := m.Owner + "/" + m.Name
		if names[key] {
			return fmt.Errorf("%w: models[%d]: %s twice", ErrInvalidGenesis, i, key)
		}
		names[key] = true
		models[m.Id] = m
	}
	versions := map[[2]uint64]bool{}
	for i, v := range gs.Versions {
		m, ok := models[v.ModelId]
		if !ok || v.Number == 0 || v.Number > m.LatestVersion || versions[[2]uint64{v.ModelId, v.Number}] {
			return fmt.Errorf("%w: versions[%d]: %d/%d is unknown, zero, beyond latest_version or repeated", ErrInvalidGenesis, i, v.ModelId, v.Number)
		}
		versions[[2]uint64{v.ModelId, v.Number}] = true
	}
	runs := map[uint64]bool{}
	for i, v := range gs.Versions {
		p := v.Provenance
		if p.FederatedRunId != 0 {
			if runs[p.FederatedRunId] {
				return fmt.Errorf("%w: versions[%d]: federated run %d published twice", ErrInvalidGenesis, i, p.FederatedRunId)
			}
			runs[p.FederatedRunId] = true
		}
		if p.ParentModelId != 0 && !versions[[2]uint64{p.ParentModelId, p.ParentVersion}] {
			return fmt.Errorf("%w: versions[%d]: parent %d/%d unknown", ErrInvalidGenesis, i, p.ParentModelId, p.ParentVersion)
		}
	}
	return nil
}
