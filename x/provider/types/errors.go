package types

import errorsmod "cosmossdk.io/errors"

// Errors of the provider module. Codes start at 2 (1 is reserved).
var (
	ErrInvalidInfo      = errorsmod.Register(ModuleName, 2, "invalid provider description")
	ErrProviderExists   = errorsmod.Register(ModuleName, 3, "provider already registered")
	ErrProviderNotFound = errorsmod.Register(ModuleName, 4, "provider not found")
	ErrInvalidAmount    = errorsmod.Register(ModuleName, 5, "invalid amount")
	ErrInsufficientBond = errorsmod.Register(ModuleName, 6, "not enough collateral bonded")
	ErrNotJailed        = errorsmod.Register(ModuleName, 7, "provider is not jailed")
	ErrStillJailed      = errorsmod.Register(ModuleName, 8, "provider is still jailed")
	ErrInvalidParams    = errorsmod.Register(ModuleName, 9, "invalid params")
	ErrUnauthorized     = errorsmod.Register(ModuleName, 10, "unauthorized")
	ErrInvalidSlash     = errorsmod.Register(ModuleName, 11, "invalid slash")
	ErrJailed           = errorsmod.Register(ModuleName, 12, "provider is jailed")
	ErrInvalidGenesis   = errorsmod.Register(ModuleName, 13, "invalid genesis")
)
