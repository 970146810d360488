package types

import (
	"context"

	"cosmossdk.io/core/address"

	sdk "github.com/cosmos/cosmos-sdk/types"
)

// AccountKeeper is what the provider module needs of x/auth.
type AccountKeeper interface {
	AddressCodec() address.Codec
	GetModuleAddress(name string) sdk.AccAddress
}

// BankKeeper is what the provider module needs of x/bank: moving
// collateral in and out of its module account, and burning slashed tokens.
type BankKeeper interface {
	SendCoinsFromAccountToModule(ctx context.Context, sender sdk.AccAddress, recipientModule string, amt sdk.Coins) error
	SendCoinsFromModuleToAccount(ctx context.Context, senderModule string, recipient sdk.AccAddress, amt sdk.Coins) error
	BurnCoins(ctx context.Context, moduleName string, amt sdk.Coins) error
	GetBalance(ctx context.Context, addr sdk.AccAddress, denom string) sdk.Coin
}

// ProviderHooks lets other modules (reputation) follow what happens to providers.
type ProviderHooks interface {
	AfterProviderSlashed(ctx context.Context, operator sdk.AccAddress, fraction string) error
	AfterProviderStatusChanged(ctx context.Context, operator sdk.AccAddress, from, to Status) error
}
