package types

import (
	"context"

	"cosmossdk.io/core/address"
	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"
	stakingtypes "github.com/cosmos/cosmos-sdk/x/staking/types"

	providertypes "github.com/cohortchain/cohort/x/provider/types"
	registrytypes "github.com/cohortchain/cohort/x/registry/types"
	reputationtypes "github.com/cohortchain/cohort/x/reputation/types"
	verifytypes "github.com/cohortchain/cohort/x/verify/types"
)

// AccountKeeper is what the federated module needs of x/auth.
type AccountKeeper interface {
	AddressCodec() address.Codec
	GetModuleAddress(name string) sdk.AccAddress
}

// BankKeeper is what the federated module needs of x/bank: escrow in and out
// of its module account, and protocol fees to the fee collector.
type BankKeeper interface {
	SendCoinsFromAccountToModule(ctx context.Context, sender sdk.AccAddress, recipientModule string, amt sdk.Coins) error
	SendCoinsFromModuleToAccount(ctx context.Context, senderModule string, recipient sdk.AccAddress, amt sdk.Coins) error
	SendCoinsFromModuleToModule(ctx context.Context, senderModule, recipientModule string, amt sdk.Coins) error
	GetAllBalances(ctx context.Context, addr sdk.AccAddress) sdk.Coins
}

// StakingKeeper is what the federated module needs of x/staking: the
// bonded validators that round committees are drawn from, by power.
type StakingKeeper interface {
	GetBondedValidatorsByPower(ctx context.Context) ([]stakingtypes.Validator, error)
	PowerReduction(ctx context.Context) sdkmath.Int
}

// ProviderKeeper is what the federated module needs of x/provider.
type ProviderKeeper interface {
	// CanBid is nil for a registered, active provider with at least the
	// minimum collateral bonded.
	CanBid(ctx context.Context, operator sdk.AccAddress) error
	// GetProvider returns the provider's record: its hardware and bonded
	// collateral, checked against a run's requirements.
	GetProvider(ctx context.Context, operator sdk.AccAddress) (providertypes.Provider, error)
}

// ReputationKeeper is what the federated module needs of x/reputation.
type ReputationKeeper interface {
	// Score is the provider's score in [0, 1].
	Score(ctx context.Context, operator sdk.AccAddress) (sdkmath.LegacyDec, error)
	// Record applies one outcome to the provider's score and counters; the
	// federated module reports OUTCOME_FEDERATED_UPDATE_ACCEPTED,
	// _REJECTED and _MISSED.
	Record(ctx context.Context, operator sdk.AccAddress, outcome reputationtypes.Outcome) error
}

// RegistryKeeper is what the federated module needs of x/registry: that a
// run's model version exists and that the client may use it, and to
// publish a completed run's final weights as a new version of the model.
type RegistryKeeper interface {
	GetVersion(ctx context.Context, model, number uint64) (registrytypes.Version, error)
	CanUse(ctx context.Context, id, number uint64, account sdk.AccAddress) (bool, string, error)
	// PublishFromRun records the next version of modelID with the run as
	// its provenance and parentVersion of the same model as its parent; it
	// writes nothing when it fails.
	PublishFromRun(ctx context.Context, client string, modelID, runID uint64, weightsHash []byte, location string, parentVersion uint64) (uint64, error)
}

// VerifyKeeper is what the federated module needs of x/verify: each update
// of a run that verifies updates is reported as committed work
// (WORK_KIND_FEDERATED_UPDATE), which a sampled committee re-executes.
// x/verify applies its verdict itself (slash, reputation); nothing comes
// back to the federated module.
type VerifyKeeper interface {
	// OnWorkCommitted records w as a pending verification task and returns
	// its id. The caller must already have moved w.Fee to x/verify.
	OnWorkCommitted(ctx context.Context, w verifytypes.Work) (uint64, error)
}
