package testutil

import (
	"os"

	dbm "github.com/cosmos/cosmos-db"

	"cosmossdk.io/log/v2"

	pruningtypes "github.com/cosmos/cosmos-sdk/store/v2/pruning/types"

	"github.com/cosmos/cosmos-sdk/baseapp"
	servertypes "github.com/cosmos/cosmos-sdk/server/types"
	"github.com/cosmos/cosmos-sdk/testutil/network"
	simtestutil "github.com/cosmos/cosmos-sdk/testutil/sims"
	moduletestutil "github.com/cosmos/cosmos-sdk/types/module/testutil"

	"github.com/cohortchain/cohort/app"
)

// NetworkConfig returns the configuration of an in-process network of
// Cohort validators (testutil/network), in ucohort, with n validators.
func NetworkConfig(n int) network.Config {
	home, err := os.MkdirTemp("", "cohort-network-template-")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(home)
	tmpl := app.New(log.NewNopLogger(), dbm.NewMemDB(), false, simtestutil.NewAppOptionsWithFlagHome(home), app.Options{})

	cfg := network.DefaultConfig(func() network.TestFixture {
		return network.TestFixture{
			GenesisState: tmpl.DefaultGenesis(),
			EncodingConfig: moduletestutil.TestEncodingConfig{
				InterfaceRegistry: tmpl.InterfaceRegistry(),
				Codec:             tmpl.AppCodec(),
				TxConfig:          tmpl.TxConfig(),
				Amino:             tmpl.LegacyAmino(),
			},
		}
	})
	cfg.NumValidators = n
	cfg.BondDenom = app.BaseDenom
	cfg.MinGasPrices = app.DefaultMinGasPrices
	cfg.ChainID = ChainID
	cfg.AppConstructor = func(val network.ValidatorI) servertypes.Application {
		appCfg := val.GetAppConfig()
		return app.New(val.GetCtx().Logger, dbm.NewMemDB(), true,
			simtestutil.NewAppOptionsWithFlagHome(val.GetCtx().Config.RootDir), app.Options{},
			baseapp.SetPruning(pruningtypes.NewPruningOptionsFromString(appCfg.Pruning)),
			baseapp.SetMinGasPrices(appCfg.MinGasPrices),
			baseapp.SetChainID(ChainID),
		)
	}
	return cfg
}
