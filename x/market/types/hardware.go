package types

import (
	"fmt"
	"strings"

	providertypes "github.com/cohortchain/cohort/x/provider/types"
)

// MetBy fails with ErrHardware unless h offers at least r: as many GPUs
// with as much memory each, as much RAM, and, when r names a GPU model, a
// model whose name contains it (case-insensitive). Market jobs and
// federated runs both state their needs this way.
func (r HardwareRequirement) MetBy(h providertypes.Hardware) error {
	if h.GpuCount < r.MinGpuCount || h.GpuMemoryGib < r.MinGpuMemoryGib || h.RamGib < r.MinRamGib ||
		(r.GpuModel != "" && !strings.Contains(strings.ToLower(h.GpuModel), strings.ToLower(r.GpuModel))) {
		return fmt.Errorf("%w: has %d x %s (%d GiB), %d GiB RAM; needs %d x %q (%d GiB), %d GiB RAM", ErrHardware,
			h.GpuCount, h.GpuModel, h.GpuMemoryGib, h.RamGib, r.MinGpuCount, r.GpuModel, r.MinGpuMemoryGib, r.MinRamGib)
	}
	return nil
}
