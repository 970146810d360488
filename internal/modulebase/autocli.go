package modulebase

import autocliv1 "cosmossdk.io/api/cosmos/autocli/v1"

// Args names a command's positional arguments by the proto fields they fill.
func Args(fields ...string) []*autocliv1.PositionalArgDescriptor {
	out := make([]*autocliv1.PositionalArgDescriptor, len(fields))
	for i, f := range fields {
		out[i] = &autocliv1.PositionalArgDescriptor{ProtoField: f}
	}
	return out
}
