package types

import errorsmod "cosmossdk.io/errors"

// Errors of the verify module.
var (
	ErrInvalidWork    = errorsmod.Register(ModuleName, 2, "invalid work")
	ErrTaskNotFound   = errorsmod.Register(ModuleName, 3, "task not found")
	ErrInvalidState   = errorsmod.Register(ModuleName, 4, "task is not in a state that allows this")
	ErrUnauthorized   = errorsmod.Register(ModuleName, 5, "unauthorized")
	ErrInvalidParams  = errorsmod.Register(ModuleName, 6, "invalid params")
	ErrInvalidGenesis = errorsmod.Register(ModuleName, 7, "invalid genesis")
	ErrInvalidSubject = errorsmod.Register(ModuleName, 8, "invalid attestation subject")
	ErrUnknownVerdict = errorsmod.Register(ModuleName, 9, "result hash matches no verdict of the task")
	ErrNoCommittee    = errorsmod.Register(ModuleName, 10, "no bonded validator to sit on a committee")
)
