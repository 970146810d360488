package types

import "cosmossdk.io/collections"

const (
	// ModuleName is the name of the federated module, its store and its
	// module account, which holds the escrow of every unfinished run.
	ModuleName = "federated"
	// StoreKey is the module's store key.
	StoreKey = ModuleName
	// AttestationKind routes validators' round aggregates to this module.
	AttestationKind = "federated-round"
)

// Store prefixes.
var (
	ParamsKey        = collections.NewPrefix(0)
	RunsKey          = collections.NewPrefix(1)
	NextRunIDKey     = collections.NewPrefix(2)
	ParticipantsKey  = collections.NewPrefix(3)
	RoundsKey        = collections.NewPrefix(4)
	UpdatesKey       = collections.NewPrefix(5)
	DeadlineQueueKey = collections.NewPrefix(6)
	JoinQueueKey     = collections.NewPrefix(7)
	SecAggKey        = collections.NewPrefix(8)
)
