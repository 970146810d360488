package app

import (
	"sync"

	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"
	banktypes "github.com/cosmos/cosmos-sdk/x/bank/types"
)

const (
	// AppName is the name of the application, as reported by ABCI Info.
	AppName = "cohort"

	// Bech32Prefix is the human-readable part of every Cohort account address.
	Bech32Prefix = "cohort"

	// BaseDenom is the smallest unit of the staking and fee token.
	BaseDenom = "ucohort"
	// DisplayDenom is the unit people read: 1 COHORT = 10^6 ucohort.
	DisplayDenom = "COHORT"
	// DisplayExponent is the number of decimals between BaseDenom and DisplayDenom.
	DisplayExponent = 6

	// DefaultMinGasPrices is what a new node's app.toml asks of every
	// transaction, so that transactions without fees are refused.
	DefaultMinGasPrices = "0.0025" + BaseDenom
)

var (
	// Bech32PrefixValAddr is the prefix of validator operator addresses.
	Bech32PrefixValAddr = Bech32Prefix + sdk.PrefixValidator + sdk.PrefixOperator
	// Bech32PrefixValPub is the prefix of validator operator public keys.
	Bech32PrefixValPub = Bech32PrefixValAddr + sdk.PrefixPublic
	// Bech32PrefixConsAddr is the prefix of consensus node addresses.
	Bech32PrefixConsAddr = Bech32Prefix + sdk.PrefixValidator + sdk.PrefixConsensus
	// Bech32PrefixConsPub is the prefix of consensus node public keys.
	Bech32PrefixConsPub = Bech32PrefixConsAddr + sdk.PrefixPublic
	// Bech32PrefixAccPub is the prefix of account public keys.
	Bech32PrefixAccPub = Bech32Prefix + sdk.PrefixPublic

	configOnce sync.Once
)

// SetSDKConfig sets Cohort's address prefixes and denominations on the SDK's
// process-wide configuration. It is idempotent and safe to call from tests,
// the node and the CLI; the first call seals the configuration.
func SetSDKConfig() {
	configOnce.Do(func() {
		cfg := sdk.GetConfig()
		cfg.SetBech32PrefixForAccount(Bech32Prefix, Bech32PrefixAccPub)
		cfg.SetBech32PrefixForValidator(Bech32PrefixValAddr, Bech32PrefixValPub)
		cfg.SetBech32PrefixForConsensusNode(Bech32PrefixConsAddr, Bech32PrefixConsPub)
		cfg.Seal()

		sdk.DefaultBondDenom = BaseDenom
		if err := sdk.RegisterDenom(DisplayDenom, sdkmath.LegacyOneDec()); err != nil {
			panic(err)
		}
		if err := sdk.RegisterDenom(BaseDenom, sdkmath.LegacyNewDecWithPrec(1, DisplayExponent)); err != nil {
			panic(err)
		}
	})
}

func init() {
	SetSDKConfig()
}

// DenomMetadata describes ucohort and COHORT for wallets and explorers.
func DenomMetadata() banktypes.Metadata {
	return banktypes.Metadata{
		Description: "The staking and fee token of Cohort.",
		DenomUnits: []*banktypes.DenomUnit{
			{Denom: BaseDenom, Exponent: 0, Aliases: []string{"microcohort"}},
			{Denom: DisplayDenom, Exponent: DisplayExponent},
		},
		Base:    BaseDenom,
		Display: DisplayDenom,
		Name:    "Cohort",
		Symbol:  DisplayDenom,
	}
}
