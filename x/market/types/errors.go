package types

import errorsmod "cosmossdk.io/errors"

// Errors of the market module.
var (
	ErrInvalidJob      = errorsmod.Register(ModuleName, 2, "invalid job")
	ErrJobNotFound     = errorsmod.Register(ModuleName, 3, "job not found")
	ErrInvalidAmount   = errorsmod.Register(ModuleName, 4, "invalid amount")
	ErrInvalidState    = errorsmod.Register(ModuleName, 5, "job is not in a state that allows this")
	ErrUnauthorized    = errorsmod.Register(ModuleName, 6, "unauthorized")
	ErrPriceTooHigh    = errorsmod.Register(ModuleName, 7, "price over the job's max price")
	ErrBidNotFound     = errorsmod.Register(ModuleName, 8, "bid not found")
	ErrBidExists       = errorsmod.Register(ModuleName, 9, "provider already bid on this job")
	ErrHardware        = errorsmod.Register(ModuleName, 10, "provider hardware does not meet the job's requirement")
	ErrInvalidResult   = errorsmod.Register(ModuleName, 11, "invalid result")
	ErrWindowClosed    = errorsmod.Register(ModuleName, 12, "window closed")
	ErrInvalidParams   = errorsmod.Register(ModuleName, 13, "invalid params")
	ErrInvalidGenesis  = errorsmod.Register(ModuleName, 14, "invalid genesis")
	ErrInsufficientFee = errorsmod.Register(ModuleName, 15, "budget does not cover max price times units")
	ErrOverflow        = errorsmod.Register(ModuleName, 16, "amount overflows")
	ErrInvalidVoucher  = errorsmod.Register(ModuleName, 17, "invalid voucher")
	ErrReplayedVoucher = errorsmod.Register(ModuleName, 18, "voucher covers nothing not claimed already")
	ErrLicence         = errorsmod.Register(ModuleName, 19, "the model's licence does not allow this")
	ErrInvalidReceipt  = errorsmod.Register(ModuleName, 20, "invalid inference receipt")
)
