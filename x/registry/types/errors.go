package types

import errorsmod "cosmossdk.io/errors"

// Errors of the registry module.
var (
	ErrInvalidModel    = errorsmod.Register(ModuleName, 2, "invalid model")
	ErrDuplicateName   = errorsmod.Register(ModuleName, 3, "the owner already has a model of this name")
	ErrModelNotFound   = errorsmod.Register(ModuleName, 4, "model not found")
	ErrVersionNotFound = errorsmod.Register(ModuleName, 5, "version not found")
	ErrInvalidVersion  = errorsmod.Register(ModuleName, 6, "invalid version")
	ErrUnknownParent   = errorsmod.Register(ModuleName, 7, "unknown parent version")
	ErrProvenance      = errorsmod.Register(ModuleName, 8, "provenance does not check out")
	ErrUnauthorized    = errorsmod.Register(ModuleName, 9, "unauthorized")
	ErrFrozen          = errorsmod.Register(ModuleName, 10, "model is frozen")
	ErrInvalidLicense  = errorsmod.Register(ModuleName, 11, "invalid licence")
	ErrInvalidGenesis  = errorsmod.Register(ModuleName, 12, "invalid genesis")
	ErrDuplicateSemver = errorsmod.Register(ModuleName, 13, "semver already published for this model")
)
