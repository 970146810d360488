package types

import "cosmossdk.io/collections"

const (
	// ModuleName is the name of the provider module, its store and its
	// module account, which holds bonded and unbonding collateral.
	ModuleName = "provider"
	// StoreKey is the module's store key.
	StoreKey = ModuleName
)

// Store prefixes.
var (
	ParamsKey               = collections.NewPrefix(0)
	ProvidersKey            = collections.NewPrefix(1)
	UnbondingsKey           = collections.NewPrefix(2)
	UnbondingQueueKey       = collections.NewPrefix(3)
	NextUnbondingKey        = collections.NewPrefix(4)
	EpochKey                = collections.NewPrefix(5)
	UnbondingsByOperatorKey = collections.NewPrefix(6)
)
