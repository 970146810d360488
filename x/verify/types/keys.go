package types

import "cosmossdk.io/collections"

const (
	// ModuleName is the name of the verify module, its store and its
	// module account, which holds the fees of undecided tasks.
	ModuleName = "verify"
	// StoreKey is the module's store key.
	StoreKey = ModuleName
	// AttestationKind routes validators' verdicts to this module. The
	// subject of an attestation is the task id (TaskSubject) and its result
	// hash VerdictHash of the verdict.
	AttestationKind = "verify-task"
)

// Store prefixes.
var (
	ParamsKey          = collections.NewPrefix(0)
	TasksKey           = collections.NewPrefix(1)
	NextTaskIDKey      = collections.NewPrefix(2)
	TasksByJobKey      = collections.NewPrefix(3)
	TasksByProviderKey = collections.NewPrefix(4)
	TasksByStateKey    = collections.NewPrefix(5)
	PendingQueueKey    = collections.NewPrefix(6)
	DeadlineQueueKey   = collections.NewPrefix(7)
	OpenByMemberKey    = collections.NewPrefix(8)
	ValidatorsKey      = collections.NewPrefix(9)
	ProvidersKey       = collections.NewPrefix(10)
	StatsKey           = collections.NewPrefix(11)
)
