package types

import (
	"context"

	"cosmossdk.io/core/address"
	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	providertypes "github.com/cohortchain/cohort/x/provider/types"
	reputationtypes "github.com/cohortchain/cohort/x/reputation/types"
	verifytypes "github.com/cohortchain/cohort/x/verify/types"
)

// AccountKeeper is what the market needs of x/auth.
type AccountKeeper interface {
	AddressCodec() address.Codec
	GetModuleAddress(name string) sdk.AccAddress
	// GetAccount finds a client's public key, which its vouchers are checked against.
	GetAccount(ctx context.Context, addr sdk.AccAddress) sdk.AccountI
}

// RegistryKeeper is what the market needs of x/registry: the terms on
// which an account may run inference on a model version.
type RegistryKeeper interface {
	// InferenceTerms says whether account may use version number of model
	// id (why not, when it may not), the licence price per inference and
	// the model owner it is paid to.
	InferenceTerms(ctx context.Context, id, number uint64, account sdk.AccAddress) (ok bool, reason string, price sdk.Coin, owner string, err error)
}

// BankKeeper is what the market needs of x/bank: escrow in and out of its
// module account, and fees to the fee collector.
type BankKeeper interface {
	SendCoinsFromAccountToModule(ctx context.Context, sender sdk.AccAddress, recipientModule string, amt sdk.Coins) error
	SendCoinsFromModuleToAccount(ctx context.Context, senderModule string, recipient sdk.AccAddress, amt sdk.Coins) error
	SendCoinsFromModuleToModule(ctx context.Context, senderModule, recipientModule string, amt sdk.Coins) error
	GetAllBalances(ctx context.Context, addr sdk.AccAddress) sdk.Coins
}

// ProviderKeeper is what the market needs of x/provider.
type ProviderKeeper interface {
	CanBid(ctx context.Context, operator sdk.AccAddress) error
	GetProvider(ctx context.Context, operator sdk.AccAddress) (providertypes.Provider, error)
	Slash(ctx context.Context, operator sdk.AccAddress, fraction sdkmath.LegacyDec, beneficiary sdk.AccAddress, reason string) (sdk.Coin, error)
	// Heartbeat records that the provider is alive; market activity counts.
	Heartbeat(ctx context.Context, operator sdk.AccAddress) error
}

// ReputationKeeper is what the market needs of x/reputation.
type ReputationKeeper interface {
	Score(ctx context.Context, operator sdk.AccAddress) (sdkmath.LegacyDec, error)
	Record(ctx context.Context, operator sdk.AccAddress, outcome reputationtypes.Outcome) error
}

// VerifyKeeper is what the market needs of x/verify: submitted training
// results and disputes become verification tasks, whose verdicts come
// back through Keeper.OnVerified.
type VerifyKeeper interface {
	// VerifierFee is what a task's committee is paid; the market puts up
	// at most this much.
	VerifierFee(ctx context.Context) (sdk.Coin, error)
	OnWorkCommitted(ctx context.Context, w verifytypes.Work) (uint64, error)
	OpenDispute(ctx context.Context, disputer string, w verifytypes.Work) (uint64, error)
	// GetTask returns a task, so that settlement can wait for its verdict.
	GetTask(ctx context.Context, id uint64) (verifytypes.Task, error)
}
