package types

import "cosmossdk.io/collections"

const (
	// ModuleName is the name of the reputation module and its store.
	ModuleName = "reputation"
	// StoreKey is the module's store key.
	StoreKey = ModuleName
)

// Store prefixes.
var (
	ParamsKey      = collections.NewPrefix(0)
	ReputationsKey = collections.NewPrefix(1)
)
