package types

import (
	"fmt"
	"net/url"
	"unicode/utf8"

	sdk "github.com/cosmos/cosmos-sdk/types"
)

// Limits on a provider's description.
const (
	MaxMonikerLen   = 64
	MaxRegionLen    = 32
	MaxEndpoints    = 8
	MaxEndpointLen  = 256
	MaxModels       = 64
	MaxModelIDLen   = 128
	MaxGPUModelLen  = 64
	MaxGPUCount     = 1024
	MaxGPUMemoryGiB = 4096
)

// Info returns the operator-described part of a provider.
func (p Provider) Info() ProviderInfo {
	return ProviderInfo{Moniker: p.Moniker, Hardware: p.Hardware, Region: p.Region, Endpoints: p.Endpoints, Prices: p.Prices, Models: p.Models}
}

// Apply copies info into p.
func (p *Provider) Apply(info ProviderInfo) {
	p.Moniker, p.Hardware, p.Region, p.Endpoints, p.Prices, p.Models = info.Moniker, info.Hardware, info.Region, info.Endpoints, info.Prices, info.Models
}

// Validate checks a provider description against the limits: a moniker,
// sane hardware, http(s) endpoints, valid non-negative prices, and model ids
// without repeats.
func (info ProviderInfo) Validate() error {
	if err := checkString("moniker", info.Moniker, 1, MaxMonikerLen); err != nil {
		return err
	}
	if err := checkString("region", info.Region, 0, MaxRegionLen); err != nil {
		return err
	}
	h := info.Hardware
	if err := checkString("hardware.gpu_model", h.GpuModel, 0, MaxGPUModelLen); err != nil {
		return err
	}
	if h.GpuCount > MaxGPUCount || h.GpuMemoryGib > MaxGPUMemoryGiB {
		return fmt.Errorf("%w: at most %d GPUs of at most %d GiB", ErrInvalidInfo, MaxGPUCount, MaxGPUMemoryGiB)
	}
	if (h.GpuCount == 0) != (h.GpuModel == "") {
		return fmt.Errorf("%w: hardware.gpu_model and gpu_count go together", ErrInvalidInfo)
	}
	if h.CpuCores == 0 {
		return fmt.Errorf("%w: hardware.cpu_cores must be at least 1", ErrInvalidInfo)
	}
	if len(info.Endpoints) == 0 || len(info.Endpoints) > MaxEndpoints {
		return fmt.Errorf("%w: 1 to %d endpoints", ErrInvalidInfo, MaxEndpoints)
	}
	for i, e := range info.Endpoints {
		u, err := url.Parse(e)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(e) > MaxEndpointLen {
			return fmt.Errorf("%w: endpoints[%d] %q must be an http(s) URL of at most %d bytes", ErrInvalidInfo, i, e, MaxEndpointLen)
		}
	}
	for name, c := range map[string]sdk.Coin{
		"training_per_step":     info.Prices.TrainingPerStep,
		"inference_per_request": info.Prices.InferencePerRequest,
		"verification_per_task": info.Prices.VerificationPerTask,
	} {
		if err := ValidatePrice(c); err != nil {
			return fmt.Errorf("%w: prices.%s: %v", ErrInvalidInfo, name, err)
		}
	}
	if len(info.Models) > MaxModels {
		return fmt.Errorf("%w: at most %d models", ErrInvalidInfo, MaxModels)
	}
	seen := map[string]bool{}
	for i, m := range info.Models {
		if err := checkString(fmt.Sprintf("models[%d]", i), m, 1, MaxModelIDLen); err != nil {
			return err
		}
		if seen[m] {
			return fmt.Errorf("%w: model %q listed twice", ErrInvalidInfo, m)
		}
		seen[m] = true
	}
	return nil
}

// ValidatePrice accepts an unset price (the kind is not offered) or a
// valid, non-negative coin.
func ValidatePrice(c sdk.Coin) error {
	if c.Denom == "" && (c.Amount.IsNil() || c.Amount.IsZero()) {
		return nil
	}
	return c.Validate()
}

// Offers reports whether price c is set, that is the kind is offered.
func Offers(c sdk.Coin) bool { return c.Denom != "" && !c.Amount.IsNil() }

func checkString(field, s string, minLen, maxLen int) error {
	if len(s) < minLen || len(s) > maxLen || !utf8.ValidString(s) {
		return fmt.Errorf("%w: %s must be %d to %d bytes of UTF-8", ErrInvalidInfo, field, minLen, maxLen)
	}
	return nil
}
