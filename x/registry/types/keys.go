package types

import "cosmossdk.io/collections"

const (
	// ModuleName is the name of the registry module and its store.
	ModuleName = "registry"
	// StoreKey is the module's store key.
	StoreKey = ModuleName
)

// Store prefixes.
var (
	ModelsKey      = collections.NewPrefix(0)
	NextModelIDKey = collections.NewPrefix(1)
	VersionsKey    = collections.NewPrefix(2)
	ByOwnerNameKey = collections.NewPrefix(3)
	ByTaskKey      = collections.NewPrefix(4)
	ByLicenseKey   = collections.NewPrefix(5)
	ChildrenKey    = collections.NewPrefix(6)
	ByJobKey       = collections.NewPrefix(7)
	BySemverKey    = collections.NewPrefix(8)
	ByRunKey       = collections.NewPrefix(9)
)
