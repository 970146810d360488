package types

import errorsmod "cosmossdk.io/errors"

// Errors of the reputation module.
var (
	ErrInvalidParams  = errorsmod.Register(ModuleName, 2, "invalid params")
	ErrUnauthorized   = errorsmod.Register(ModuleName, 3, "unauthorized")
	ErrInvalidGenesis = errorsmod.Register(ModuleName, 4, "invalid genesis")
	ErrInvalidOutcome = errorsmod.Register(ModuleName, 5, "invalid outcome")
)
