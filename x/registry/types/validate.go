package types

import (
	"crypto/sha256"
	"fmt"
	"net/url"
	"regexp"
	"unicode/utf8"

	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"
)

// Limits on what a model and a version may hold.
const (
	MaxNameLen        = 64
	MaxDescriptionLen = 2048
	MaxTaskLen        = 32
	MaxLayers         = 512
	MaxTermsLen       = 4096
	MaxLocations      = 8
	MaxLocationLen    = 256
	MaxMetrics        = 32
	MaxCommitments    = 32
	MaxAllowed        = 256
	MaxFieldLen       = 64
)

var (
	namePattern   = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)
	spdxPattern   = regexp.MustCompile(`^[A-Za-z0-9.+-]{1,64}$`)
	semverPattern = regexp.MustCompile(`^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?$`)
)

func text(field, s string, minLen, maxLen int) error {
	if len(s) < minLen || len(s) > maxLen || !utf8.ValidString(s) {
		return fmt.Errorf("%w: %s must be %d to %d bytes of UTF-8", ErrInvalidModel, field, minLen, maxLen)
	}
	return nil
}

// ValidateName checks a model name: lowercase letters, digits, ".", "_", "-".
func ValidateName(name string) error {
	if !namePattern.MatchString(name) {
		return fmt.Errorf("%w: name %q must be 1 to %d of [a-z0-9._-], starting with a letter or digit", ErrInvalidModel, name, MaxNameLen)
	}
	return nil
}

// Validate checks an architecture: layers, or a format with a sha256 spec hash.
func (a Architecture) Validate() error {
	if len(a.Layers) > MaxLayers {
		return fmt.Errorf("%w: at most %d layers", ErrInvalidModel, MaxLayers)
	}
	for i, l := range a.Layers {
		if err := text(fmt.Sprintf("architecture.layers[%d].kind", i), l.Kind, 1, MaxFieldLen); err != nil {
			return err
		}
		if err := text(fmt.Sprintf("architecture.layers[%d].activation", i), l.Activation, 0, MaxFieldLen); err != nil {
			return err
		}
	}
	hasSpec := len(a.SpecHash) > 0
	if hasSpec && len(a.SpecHash) != sha256.Size {
		return fmt.Errorf("%w: architecture.spec_hash must be %d bytes, got %d", ErrInvalidModel, sha256.Size, len(a.SpecHash))
	}
	if hasSpec != (a.SpecFormat != "") {
		return fmt.Errorf("%w: architecture.spec_format and spec_hash go together", ErrInvalidModel)
	}
	if err := text("architecture.spec_format", a.SpecFormat, 0, MaxFieldLen); err != nil {
		return err
	}
	if !hasSpec && len(a.Layers) == 0 {
		return fmt.Errorf("%w: an architecture needs layers or a spec hash", ErrInvalidModel)
	}
	return nil
}

// Validate checks a licence: an SPDX-style identifier, bounded custom
// terms (required for LicenseRef-* identifiers), unset or valid prices.
func (l License) Validate() error {
	if !spdxPattern.MatchString(l.SpdxId) {
		return fmt.Errorf("%w: spdx_id %q", ErrInvalidLicense, l.SpdxId)
	}
	if len(l.CustomTerms) > MaxTermsLen || !utf8.ValidString(l.CustomTerms) {
		return fmt.Errorf("%w: custom_terms at most %d bytes", ErrInvalidLicense, MaxTermsLen)
	}
	if len(l.SpdxId) > 11 && l.SpdxId[:11] == "LicenseRef-" && l.CustomTerms == "" {
		return fmt.Errorf("%w: a LicenseRef- licence needs custom_terms", ErrInvalidLicense)
	}
	for name, c := range map[string]sdk.Coin{"price_per_inference": l.PricePerInference, "price_per_download": l.PricePerDownload} {
		if c.Denom == "" && (c.Amount.IsNil() || c.Amount.IsZero()) {
			continue
		}
		if err := c.Validate(); err != nil {
			return fmt.Errorf("%w: %s: %v", ErrInvalidLicense, name, err)
		}
	}
	return nil
}

// ValidateModelFields checks the describable fields of a model.
func ValidateModelFields(name, description, task string, arch Architecture, license License) error {
	if err := ValidateName(name); err != nil {
		return err
	}
	if err := text("description", description, 0, MaxDescriptionLen); err != nil {
		return err
	}
	if err := text("task", task, 1, MaxTaskLen); err != nil {
		return err
	}
	if err := arch.Validate(); err != nil {
		return err
	}
	return license.Validate()
}

// ValidateVersionFields checks what a publisher states about a version.
func ValidateVersionFields(msg *MsgPublishVersion) error {
	if msg.Semver != "" && !semverPattern.MatchString(msg.Semver) {
		return fmt.Errorf("%w: semver %q", ErrInvalidVersion, msg.Semver)
	}
	if len(msg.WeightsHash) != sha256.Size {
		return fmt.Errorf("%w: weights_hash must be %d bytes, got %d", ErrInvalidVersion, sha256.Size, len(msg.WeightsHash))
	}
	if msg.Size_ == 0 {
		return fmt.Errorf("%w: size must be positive", ErrInvalidVersion)
	}
	if msg.Format == "" || len(msg.Format) > MaxFieldLen {
		return fmt.Errorf("%w: format (e.g. safetensors) must be 1 to %d bytes", ErrInvalidVersion, MaxFieldLen)
	}
	if len(msg.Locations) == 0 || len(msg.Locations) > MaxLocations {
		return fmt.Errorf("%w: 1 to %d locations", ErrInvalidVersion, MaxLocations)
	}
	for i, loc := range msg.Locations {
		u, err := url.Parse(loc)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(loc) > MaxLocationLen {
			return fmt.Errorf("%w: locations[%d] %q must be an http(s) URL", ErrInvalidVersion, i, loc)
		}
	}
	if len(msg.Metrics) > MaxMetrics {
		return fmt.Errorf("%w: at most %d metrics", ErrInvalidVersion, MaxMetrics)
	}
	for i, m := range msg.Metrics {
		if m.Name == "" || len(m.Name) > MaxFieldLen || len(m.Dataset) > MaxFieldLen*2 {
			return fmt.Errorf("%w: metrics[%d] needs a name; dataset at most %d bytes", ErrInvalidVersion, i, MaxFieldLen*2)
		}
		if _, err := sdkmath.LegacyNewDecFromStr(m.Value); err != nil {
			return fmt.Errorf("%w: metrics[%d].value %q is not a decimal", ErrInvalidVersion, i, m.Value)
		}
	}
	p := msg.Provenance
	if (p.ParentModelId == 0) != (p.ParentVersion == 0) {
		return fmt.Errorf("%w: parent_model_id and parent_version go together", ErrInvalidVersion)
	}
	if len(p.DatasetCommitments) > MaxCommitments {
		return fmt.Errorf("%w: at most %d dataset commitments", ErrInvalidVersion, MaxCommitments)
	}
	for i, c := range p.DatasetCommitments {
		if len(c) != sha256.Size {
			return fmt.Errorf("%w: dataset_commitments[%d] must be %d bytes", ErrInvalidVersion, i, sha256.Size)
		}
	}
	return nil
}

// DefaultGenesis is the module's state on a new chain.
func DefaultGenesis() *GenesisState { return &GenesisState{NextModelId: 1} }
