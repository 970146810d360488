package types

import errorsmod "cosmossdk.io/errors"

// Errors of the federated module.
var (
	ErrInvalidRun      = errorsmod.Register(ModuleName, 2, "invalid run")
	ErrRunNotFound     = errorsmod.Register(ModuleName, 3, "run not found")
	ErrInvalidState    = errorsmod.Register(ModuleName, 4, "run or round is not in a state that allows this")
	ErrUnauthorized    = errorsmod.Register(ModuleName, 5, "unauthorized")
	ErrInvalidParams   = errorsmod.Register(ModuleName, 6, "invalid params")
	ErrInvalidGenesis  = errorsmod.Register(ModuleName, 7, "invalid genesis")
	ErrAlreadyJoined   = errorsmod.Register(ModuleName, 8, "provider already joined this run")
	ErrRunFull         = errorsmod.Register(ModuleName, 9, "run has as many participants as it may")
	ErrNotProvider     = errorsmod.Register(ModuleName, 10, "not an active, bonded provider")
	ErrInvalidUpdate   = errorsmod.Register(ModuleName, 11, "invalid update")
	ErrNotSelected     = errorsmod.Register(ModuleName, 12, "not selected for this round")
	ErrWrongRound      = errorsmod.Register(ModuleName, 13, "not the run's current round")
	ErrDeadlinePassed  = errorsmod.Register(ModuleName, 14, "round deadline passed")
	ErrDuplicateUpdate = errorsmod.Register(ModuleName, 15, "participant already submitted an update this round")
	ErrOverflow        = errorsmod.Register(ModuleName, 16, "amount overflows")
	ErrInvalidResult   = errorsmod.Register(ModuleName, 17, "invalid round result")
	ErrResultMismatch  = errorsmod.Register(ModuleName, 18, "round result does not match the agreed hash")
	ErrInvalidSubject  = errorsmod.Register(ModuleName, 19, "invalid attestation subject")
	ErrRoundNotFound   = errorsmod.Register(ModuleName, 20, "round not found")
	ErrUnknownUpdate   = errorsmod.Register(ModuleName, 21, "accepted update was not submitted in this round")
	ErrInvalidSecAgg   = errorsmod.Register(ModuleName, 22, "invalid secure-aggregation message")
	ErrRequirements    = errorsmod.Register(ModuleName, 23, "provider does not meet the run's requirements")
)
