package types

import (
	"context"
	"time"

	"cosmossdk.io/core/address"
	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"
	stakingtypes "github.com/cosmos/cosmos-sdk/x/staking/types"

	reputationtypes "github.com/cohortchain/cohort/x/reputation/types"
)

// AccountKeeper is what the verify module needs of x/auth.
type AccountKeeper interface {
	AddressCodec() address.Codec
	GetModuleAddress(name string) sdk.AccAddress
}

// BankKeeper is what the verify module needs of x/bank: fees into its
// module account and out to verifiers, the fee collector or the payer.
type BankKeeper interface {
	SendCoinsFromAccountToModule(ctx context.Context, sender sdk.AccAddress, recipientModule string, amt sdk.Coins) error
	SendCoinsFromModuleToAccount(ctx context.Context, senderModule string, recipient sdk.AccAddress, amt sdk.Coins) error
	SendCoinsFromModuleToModule(ctx context.Context, senderModule, recipientModule string, amt sdk.Coins) error
	GetAllBalances(ctx context.Context, addr sdk.AccAddress) sdk.Coins
}

// StakingKeeper is what the verify module needs of x/staking: the bonded
// set that committees are drawn from, and validators by consensus address.
type StakingKeeper interface {
	GetBondedValidatorsByPower(ctx context.Context) ([]stakingtypes.Validator, error)
	PowerReduction(ctx context.Context) sdkmath.Int
	GetValidatorByConsAddr(ctx context.Context, consAddr sdk.ConsAddress) (stakingtypes.Validator, error)
}

// SlashingKeeper is the SDK slashing path a validator that keeps missing
// its committee duty is jailed through.
type SlashingKeeper interface {
	Jail(ctx context.Context, consAddr sdk.ConsAddress) error
	JailUntil(ctx context.Context, consAddr sdk.ConsAddress, jailTime time.Time) error
	IsTombstoned(ctx context.Context, consAddr sdk.ConsAddress) bool
}

// ProviderKeeper is what the verify module needs of x/provider.
type ProviderKeeper interface {
	Slash(ctx context.Context, operator sdk.AccAddress, fraction sdkmath.LegacyDec, beneficiary sdk.AccAddress, reason string) (sdk.Coin, error)
}

// ReputationKeeper is what the verify module needs of x/reputation.
type ReputationKeeper interface {
	Score(ctx context.Context, operator sdk.AccAddress) (sdkmath.LegacyDec, error)
	Record(ctx context.Context, operator sdk.AccAddress, outcome reputationtypes.Outcome) error
}

// MarketKeeper is what the verify module needs of x/market: a decided (or
// expired) task on a market job settles what the market still holds of it
// (a dispute, or a result inside its challenge window).
type MarketKeeper interface {
	OnVerified(ctx context.Context, jobID, taskID uint64, state TaskState) error
}
