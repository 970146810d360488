// Package app wires Cohort's modules into one ABCI application: keepers,
// module manager and block-phase order, ante handler, vote extensions,
// upgrades, and genesis import and export.
package app

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"

	abci "github.com/cometbft/cometbft/abci/types"
	dbm "github.com/cosmos/cosmos-db"
	"github.com/spf13/cast"

	autocliv1 "cosmossdk.io/api/cosmos/autocli/v1"
	reflectionv1 "cosmossdk.io/api/cosmos/reflection/v1"
	"cosmossdk.io/client/v2/autocli"
	"cosmossdk.io/core/appmodule"
	"cosmossdk.io/log/v2"

	"github.com/cosmos/cosmos-sdk/baseapp"
	"github.com/cosmos/cosmos-sdk/baseapp/blockexec"
	"github.com/cosmos/cosmos-sdk/client"
	"github.com/cosmos/cosmos-sdk/client/flags"
	"github.com/cosmos/cosmos-sdk/client/grpc/cmtservice"
	nodeservice "github.com/cosmos/cosmos-sdk/client/grpc/node"
	"github.com/cosmos/cosmos-sdk/codec"
	"github.com/cosmos/cosmos-sdk/codec/types"
	"github.com/cosmos/cosmos-sdk/runtime"
	runtimeservices "github.com/cosmos/cosmos-sdk/runtime/services"
	"github.com/cosmos/cosmos-sdk/server"
	"github.com/cosmos/cosmos-sdk/server/api"
	"github.com/cosmos/cosmos-sdk/server/config"
	servertypes "github.com/cosmos/cosmos-sdk/server/types"
	storetypes "github.com/cosmos/cosmos-sdk/store/v2/types"
	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/cosmos/cosmos-sdk/types/module"
	"github.com/cosmos/cosmos-sdk/version"
	"github.com/cosmos/cosmos-sdk/x/auth"
	authcodec "github.com/cosmos/cosmos-sdk/x/auth/codec"
	authkeeper "github.com/cosmos/cosmos-sdk/x/auth/keeper"
	authsims "github.com/cosmos/cosmos-sdk/x/auth/simulation"
	authtx "github.com/cosmos/cosmos-sdk/x/auth/tx"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"
	"github.com/cosmos/cosmos-sdk/x/authz"
	authzkeeper "github.com/cosmos/cosmos-sdk/x/authz/keeper"
	authzmodule "github.com/cosmos/cosmos-sdk/x/authz/module"
	"github.com/cosmos/cosmos-sdk/x/bank"
	bankkeeper "github.com/cosmos/cosmos-sdk/x/bank/keeper"
	banktypes "github.com/cosmos/cosmos-sdk/x/bank/types"
	"github.com/cosmos/cosmos-sdk/x/consensus"
	consensuskeeper "github.com/cosmos/cosmos-sdk/x/consensus/keeper"
	consensustypes "github.com/cosmos/cosmos-sdk/x/consensus/types"
	distr "github.com/cosmos/cosmos-sdk/x/distribution"
	distrkeeper "github.com/cosmos/cosmos-sdk/x/distribution/keeper"
	distrtypes "github.com/cosmos/cosmos-sdk/x/distribution/types"
	"github.com/cosmos/cosmos-sdk/x/epochs"
	epochskeeper "github.com/cosmos/cosmos-sdk/x/epochs/keeper"
	epochstypes "github.com/cosmos/cosmos-sdk/x/epochs/types"
	"github.com/cosmos/cosmos-sdk/x/evidence"
	evidencekeeper "github.com/cosmos/cosmos-sdk/x/evidence/keeper"
	evidencetypes "github.com/cosmos/cosmos-sdk/x/evidence/types"
	"github.com/cosmos/cosmos-sdk/x/feegrant"
	feegrantkeeper "github.com/cosmos/cosmos-sdk/x/feegrant/keeper"
	feegrantmodule "github.com/cosmos/cosmos-sdk/x/feegrant/module"
	"github.com/cosmos/cosmos-sdk/x/genutil"
	genutiltypes "github.com/cosmos/cosmos-sdk/x/genutil/types"
	"github.com/cosmos/cosmos-sdk/x/gov"
	govclient "github.com/cosmos/cosmos-sdk/x/gov/client"
	govkeeper "github.com/cosmos/cosmos-sdk/x/gov/keeper"
	govtypes "github.com/cosmos/cosmos-sdk/x/gov/types"
	"github.com/cosmos/cosmos-sdk/x/mint"
	mintkeeper "github.com/cosmos/cosmos-sdk/x/mint/keeper"
	minttypes "github.com/cosmos/cosmos-sdk/x/mint/types"
	"github.com/cosmos/cosmos-sdk/x/slashing"
	slashingkeeper "github.com/cosmos/cosmos-sdk/x/slashing/keeper"
	slashingtypes "github.com/cosmos/cosmos-sdk/x/slashing/types"
	"github.com/cosmos/cosmos-sdk/x/staking"
	stakingkeeper "github.com/cosmos/cosmos-sdk/x/staking/keeper"
	stakingtypes "github.com/cosmos/cosmos-sdk/x/staking/types"
	"github.com/cosmos/cosmos-sdk/x/upgrade"
	upgradekeeper "github.com/cosmos/cosmos-sdk/x/upgrade/keeper"
	upgradetypes "github.com/cosmos/cosmos-sdk/x/upgrade/types"

	"github.com/cohortchain/cohort/app/voteext"
	"github.com/cohortchain/cohort/x/federated"
	federatedkeeper "github.com/cohortchain/cohort/x/federated/keeper"
	federatedtypes "github.com/cohortchain/cohort/x/federated/types"
	"github.com/cohortchain/cohort/x/market"
	marketkeeper "github.com/cohortchain/cohort/x/market/keeper"
	markettypes "github.com/cohortchain/cohort/x/market/types"
	"github.com/cohortchain/cohort/x/provider"
	providerkeeper "github.com/cohortchain/cohort/x/provider/keeper"
	providertypes "github.com/cohortchain/cohort/x/provider/types"
	"github.com/cohortchain/cohort/x/registry"
	registrykeeper "github.com/cohortchain/cohort/x/registry/keeper"
	registrytypes "github.com/cohortchain/cohort/x/registry/types"
	"github.com/cohortchain/cohort/x/reputation"
	reputationkeeper "github.com/cohortchain/cohort/x/reputation/keeper"
	reputationtypes "github.com/cohortchain/cohort/x/reputation/types"
	"github.com/cohortchain/cohort/x/verify"
	verifykeeper "github.com/cohortchain/cohort/x/verify/keeper"
	verifytypes "github.com/cohortchain/cohort/x/verify/types"
)

// DefaultNodeHome is where cohortd keeps its files unless told otherwise.
var DefaultNodeHome = func() string {
	home, err := os.UserHomeDir()
	if err != nil {
		return ".cohortd"
	}
	return filepath.Join(home, ".cohortd")
}()

// maccPerms lists every module account and what it may do with tokens. Only
// mint may create tokens; only the accounts marked Burner may destroy them.
var maccPerms = map[string][]string{
	authtypes.FeeCollectorName:          nil,
	distrtypes.ModuleName:               nil,
	minttypes.ModuleName:                {authtypes.Minter},
	stakingtypes.BondedPoolName:         {authtypes.Burner, authtypes.Staking},
	stakingtypes.NotBondedPoolName:      {authtypes.Burner, authtypes.Staking},
	stakingtypes.KeyRotationFeePoolName: {authtypes.Burner},
	govtypes.ModuleName:                 {authtypes.Burner},
	providertypes.ModuleName:            {authtypes.Burner},
	markettypes.ModuleName:              nil,
	federatedtypes.ModuleName:           nil,
	verifytypes.ModuleName:              nil,
}

var (
	_ servertypes.Application = (*App)(nil)
)

// App is the Cohort application.
type App struct {
	*baseapp.BaseApp

	legacyAmino       *codec.LegacyAmino
	appCodec          codec.Codec
	txConfig          client.TxConfig
	interfaceRegistry types.InterfaceRegistry

	keys map[string]*storetypes.KVStoreKey

	AccountKeeper         authkeeper.AccountKeeper
	BankKeeper            bankkeeper.BaseKeeper
	StakingKeeper         *stakingkeeper.Keeper
	SlashingKeeper        slashingkeeper.Keeper
	MintKeeper            mintkeeper.Keeper
	DistrKeeper           distrkeeper.Keeper
	GovKeeper             govkeeper.Keeper
	UpgradeKeeper         *upgradekeeper.Keeper
	EvidenceKeeper        evidencekeeper.Keeper
	FeeGrantKeeper        feegrantkeeper.Keeper
	AuthzKeeper           authzkeeper.Keeper
	EpochsKeeper          epochskeeper.Keeper
	ConsensusParamsKeeper consensuskeeper.Keeper
	ProviderKeeper        providerkeeper.Keeper
	ReputationKeeper      reputationkeeper.Keeper
	MarketKeeper          marketkeeper.Keeper
	RegistryKeeper        registrykeeper.Keeper
	FederatedKeeper       federatedkeeper.Keeper
	VerifyKeeper          verifykeeper.Keeper

	// VoteExtensions routes agreed sidecar attestations to the modules that
	// asked for them. Modules register their kinds while the app is built.
	VoteExtensions *voteext.Router

	ModuleManager      *module.Manager
	BasicModuleManager module.BasicManager
	configurator       module.Configurator
}

// Options are the parts of an App that differ between a node, a test and a
// command-line client. The zero value is a node without a sidecar.
type Options struct {
	// AttestationSource overrides the sidecar named in app.toml.
	AttestationSource voteext.AttestationSource
	// RegisterAttestationHandlers adds vote-extension handlers to the router
	// before the app is sealed (tests use it; modules wire theirs in New).
	RegisterAttestationHandlers func(*voteext.Router)
}

// New returns a Cohort application over db. appOpts are the node's
// settings (app.toml and flags); loadLatest loads the last committed state.
func New(
	logger log.Logger,
	db dbm.DB,
	loadLatest bool,
	appOpts servertypes.AppOptions,
	opts Options,
	baseAppOptions ...func(*baseapp.BaseApp),
) *App {
	enc := MakeEncodingConfig()
	appCodec, legacyAmino, interfaceRegistry, txConfig := enc.Codec, enc.Amino, enc.InterfaceRegistry, enc.TxConfig

	// The decoder knows the extended-commit carrier (see voteext.WrapTxDecoder).
	txDecoder := voteext.WrapTxDecoder(txConfig.TxDecoder())
	bApp := baseapp.NewBaseApp(AppName, logger, withEmptyValues(db), txDecoder, baseAppOptions...)
	bApp.SetVersion(version.Version)
	bApp.SetInterfaceRegistry(interfaceRegistry)
	bApp.SetTxEncoder(txConfig.TxEncoder())

	keys := storetypes.NewKVStoreKeys(
		authtypes.StoreKey, banktypes.StoreKey, stakingtypes.StoreKey, minttypes.StoreKey,
		distrtypes.StoreKey, slashingtypes.StoreKey, govtypes.StoreKey, consensustypes.StoreKey,
		upgradetypes.StoreKey, evidencetypes.StoreKey, feegrant.StoreKey, authzkeeper.StoreKey,
		epochstypes.StoreKey, providertypes.StoreKey, reputationtypes.StoreKey,
		markettypes.StoreKey, registrytypes.StoreKey, federatedtypes.StoreKey, verifytypes.StoreKey,
	)
	stores := make([]storetypes.StoreKey, 0, len(keys))
	for _, k := range keys {
		stores = append(stores, k)
	}
	// block-executor = "sequential" | "block-stm" in app.toml.
	blockexec.Apply(bApp, appOpts, stores, txDecoder,
		func(storetypes.MultiStore) string { return BaseDenom },
	)
	if err := bApp.RegisterStreamingServices(appOpts, keys); err != nil {
		panic(err)
	}

	app := &App{
		BaseApp:           bApp,
		legacyAmino:       legacyAmino,
		appCodec:          appCodec,
		txConfig:          txConfig,
		interfaceRegistry: interfaceRegistry,
		keys:              keys,
		VoteExtensions:    voteext.NewRouter(),
	}
	authority := authtypes.NewModuleAddress(govtypes.ModuleName).String()
	addrCodec := authcodec.NewBech32Codec(Bech32Prefix)

	app.ConsensusParamsKeeper = consensuskeeper.NewKeeper(appCodec, runtime.NewKVStoreService(keys[consensustypes.StoreKey]), authority, runtime.EventService{})
	bApp.SetParamStore(app.ConsensusParamsKeeper.ParamsStore)

	app.AccountKeeper = authkeeper.NewAccountKeeper(
		appCodec, runtime.NewKVStoreService(keys[authtypes.StoreKey]), authtypes.ProtoBaseAccount,
		maccPerms, addrCodec, Bech32Prefix, authority,
		authkeeper.WithUnorderedTransactions(true),
	)
	app.BankKeeper = bankkeeper.NewBaseKeeper(
		appCodec, runtime.NewKVStoreService(keys[banktypes.StoreKey]), app.AccountKeeper,
		BlockedAddresses(), authority, logger,
	)
	app.StakingKeeper = stakingkeeper.NewKeeper(
		appCodec, runtime.NewKVStoreService(keys[stakingtypes.StoreKey]), app.AccountKeeper, app.BankKeeper,
		authority, authcodec.NewBech32Codec(Bech32PrefixValAddr), authcodec.NewBech32Codec(Bech32PrefixConsAddr),
	)
	app.MintKeeper = mintkeeper.NewKeeper(
		appCodec, runtime.NewKVStoreService(keys[minttypes.StoreKey]), app.StakingKeeper,
		app.AccountKeeper, app.BankKeeper, authtypes.FeeCollectorName, authority,
	)
	app.DistrKeeper = distrkeeper.NewKeeper(
		appCodec, runtime.NewKVStoreService(keys[distrtypes.StoreKey]), app.AccountKeeper, app.BankKeeper,
		app.StakingKeeper, authtypes.FeeCollectorName, authority,
	)
	app.SlashingKeeper = slashingkeeper.NewKeeper(
		appCodec, legacyAmino, runtime.NewKVStoreService(keys[slashingtypes.StoreKey]), app.StakingKeeper, authority,
	)
	app.FeeGrantKeeper = feegrantkeeper.NewKeeper(appCodec, runtime.NewKVStoreService(keys[feegrant.StoreKey]), app.AccountKeeper)
	app.StakingKeeper.SetHooks(stakingtypes.NewMultiStakingHooks(app.DistrKeeper.Hooks(), app.SlashingKeeper.Hooks()))
	app.AuthzKeeper = authzkeeper.NewKeeper(runtime.NewKVStoreService(keys[authzkeeper.StoreKey]), appCodec, app.MsgServiceRouter(), app.AccountKeeper)

	skipUpgradeHeights := map[int64]bool{}
	for _, h := range cast.ToIntSlice(appOpts.Get(server.FlagUnsafeSkipUpgrades)) {
		skipUpgradeHeights[int64(h)] = true
	}
	homePath := cast.ToString(appOpts.Get(flags.FlagHome))
	app.UpgradeKeeper = upgradekeeper.NewKeeper(
		skipUpgradeHeights, runtime.NewKVStoreService(keys[upgradetypes.StoreKey]), appCodec, homePath, app.BaseApp, authority,
	)

	govKeeper := govkeeper.NewKeeper(
		appCodec, runtime.NewKVStoreService(keys[govtypes.StoreKey]), app.AccountKeeper, app.BankKeeper,
		app.DistrKeeper, app.MsgServiceRouter(), govtypes.DefaultConfig(), authority,
		govkeeper.NewDefaultCalculateVoteResultsAndVotingPower(app.StakingKeeper),
	)
	app.GovKeeper = *govKeeper.SetHooks(govtypes.NewMultiGovHooks())

	app.EvidenceKeeper = *evidencekeeper.NewKeeper(
		appCodec, runtime.NewKVStoreService(keys[evidencetypes.StoreKey]), app.StakingKeeper, app.SlashingKeeper,
		addrCodec, runtime.ProvideCometInfoService(),
	)
	// Cohort's modules. Keepers are values: hooks are set before any copy
	// of a keeper is handed to another module.
	app.ReputationKeeper = reputationkeeper.NewKeeper(appCodec, runtime.NewKVStoreService(keys[reputationtypes.StoreKey]), addrCodec, authority)
	app.ProviderKeeper = providerkeeper.NewKeeper(appCodec, runtime.NewKVStoreService(keys[providertypes.StoreKey]), app.AccountKeeper, app.BankKeeper, authority)
	app.ProviderKeeper.SetHooks(app.ReputationKeeper.ProviderHooks())
	app.MarketKeeper = marketkeeper.NewKeeper(appCodec, runtime.NewKVStoreService(keys[markettypes.StoreKey]), app.AccountKeeper, app.BankKeeper,
		app.ProviderKeeper, app.ReputationKeeper, authority)
	app.RegistryKeeper = registrykeeper.NewKeeper(appCodec, runtime.NewKVStoreService(keys[registrytypes.StoreKey]), addrCodec, app.MarketKeeper, authority)
	app.FederatedKeeper = federatedkeeper.NewKeeper(appCodec, runtime.NewKVStoreService(keys[federatedtypes.StoreKey]), app.AccountKeeper, app.BankKeeper,
		app.ProviderKeeper, app.ReputationKeeper, app.RegistryKeeper, app.StakingKeeper, authority)
	// Round aggregates agreed by each round's committee go to the federated
	// module.
	app.VoteExtensions.Register(federatedtypes.AttestationKind, voteext.CommitteeHandler{
		Agree: func(ctx sdk.Context, a voteext.Agreement) error {
			return app.FederatedKeeper.OnAgreement(ctx, a.Subject, a.ResultHash)
		},
		CommitteeOf: app.FederatedKeeper.Committee,
	})

	// Proof-of-compute: x/verify checks the market's training results and
	// the updates of federated runs that verify them, and decides the
	// market's disputes; each task's committee attests its verdict.
	app.VerifyKeeper = verifykeeper.NewKeeper(appCodec, runtime.NewKVStoreService(keys[verifytypes.StoreKey]), app.AccountKeeper, app.BankKeeper,
		app.StakingKeeper, app.SlashingKeeper, app.ProviderKeeper, app.ReputationKeeper, app.MarketKeeper, authority)
	app.MarketKeeper.SetVerifier(app.VerifyKeeper)
	// Runs that verify updates report each one to x/verify.
	app.FederatedKeeper.SetVerifier(app.VerifyKeeper)
	app.MarketKeeper.SetRegistry(app.RegistryKeeper)
	verifyModule := verify.NewAppModule(appCodec, app.VerifyKeeper)
	app.VoteExtensions.Register(verifytypes.AttestationKind, verifyModule.AttestationHandler())

	app.EpochsKeeper = epochskeeper.NewKeeper(runtime.NewKVStoreService(keys[epochstypes.StoreKey]), appCodec)
	app.EpochsKeeper.SetHooks(epochstypes.NewMultiEpochHooks(app.ProviderKeeper, app.ReputationKeeper))

	app.ModuleManager = module.NewManager(
		genutil.NewAppModule(app.AccountKeeper, app.StakingKeeper, app, txConfig),
		auth.NewAppModule(appCodec, app.AccountKeeper, authsims.RandomGenesisAccounts),
		bank.NewAppModule(appCodec, app.BankKeeper, app.AccountKeeper),
		feegrantmodule.NewAppModule(appCodec, app.AccountKeeper, app.BankKeeper, app.FeeGrantKeeper, interfaceRegistry),
		gov.NewAppModule(appCodec, &app.GovKeeper, app.AccountKeeper, app.BankKeeper),
		mint.NewAppModule(appCodec, app.MintKeeper, app.AccountKeeper, nil),
		slashing.NewAppModule(appCodec, app.SlashingKeeper, app.AccountKeeper, app.BankKeeper, app.StakingKeeper, interfaceRegistry),
		distr.NewAppModule(appCodec, app.DistrKeeper, app.AccountKeeper, app.BankKeeper, app.StakingKeeper),
		staking.NewAppModule(appCodec, app.StakingKeeper, app.AccountKeeper, app.BankKeeper),
		upgrade.NewAppModule(app.UpgradeKeeper, addrCodec),
		evidence.NewAppModule(app.EvidenceKeeper),
		authzmodule.NewAppModule(appCodec, app.AuthzKeeper, app.AccountKeeper, app.BankKeeper, interfaceRegistry),
		consensus.NewAppModule(appCodec, app.ConsensusParamsKeeper),
		epochs.NewAppModule(&app.EpochsKeeper),
		provider.NewAppModule(appCodec, app.ProviderKeeper),
		reputation.NewAppModule(appCodec, app.ReputationKeeper),
		market.NewAppModule(appCodec, app.MarketKeeper),
		registry.NewAppModule(appCodec, app.RegistryKeeper),
		federated.NewAppModule(appCodec, app.FederatedKeeper),
		verifyModule,
	)
	app.BasicModuleManager = module.NewBasicManagerFromManager(app.ModuleManager, map[string]module.AppModuleBasic{
		genutiltypes.ModuleName: genutil.NewAppModuleBasic(genutiltypes.DefaultMessageValidator),
		govtypes.ModuleName:     gov.NewAppModuleBasic([]govclient.ProposalHandler{}),
	})
	app.BasicModuleManager.RegisterLegacyAminoCodec(legacyAmino)
	app.BasicModuleManager.RegisterInterfaces(interfaceRegistry)

	setBlockOrder(app.ModuleManager)

	app.configurator = module.NewConfigurator(appCodec, app.MsgServiceRouter(), app.GRPCQueryRouter())
	if err := app.ModuleManager.RegisterServices(app.configurator); err != nil {
		panic(err)
	}
	autocliv1.RegisterQueryServer(app.GRPCQueryRouter(), runtimeservices.NewAutoCLIQueryService(app.ModuleManager.Modules))
	reflectionSvc, err := runtimeservices.NewReflectionService()
	if err != nil {
		panic(err)
	}
	reflectionv1.RegisterReflectionServiceServer(app.GRPCQueryRouter(), reflectionSvc)

	app.MountKVStores(keys)

	app.SetInitChainer(app.InitChainer)
	app.SetPreBlocker(app.PreBlocker)
	app.SetBeginBlocker(app.BeginBlocker)
	app.SetEndBlocker(app.EndBlocker)
	app.setAnteHandler()
	app.setVoteExtensionHandlers(logger, appOpts, opts)
	app.registerUpgradeHandlers()

	if loadLatest {
		if err := app.LoadLatestVersion(); err != nil {
			panic(fmt.Errorf("loading the last committed state: %w", err))
		}
	}
	return app
}

// setBlockOrder fixes the order in which modules run in each block phase
// and at genesis.
func setBlockOrder(mm *module.Manager) {
	// The upgrade module must run first: it halts a node that runs the
	// wrong binary for a scheduled upgrade.
	mm.SetOrderPreBlockers(upgradetypes.ModuleName, authtypes.ModuleName)
	// Mint before distribution, so that the block reward is there to share;
	// slashing after distribution, so that rewards are shared before a
	// validator's stake changes; epochs last, so that epoch hooks see the
	// block's settled state.
	mm.SetOrderBeginBlockers(
		minttypes.ModuleName, distrtypes.ModuleName, slashingtypes.ModuleName, evidencetypes.ModuleName,
		stakingtypes.ModuleName, authz.ModuleName, epochstypes.ModuleName, verifytypes.ModuleName,
	)
	mm.SetOrderEndBlockers(
		banktypes.ModuleName, govtypes.ModuleName, stakingtypes.ModuleName, feegrant.ModuleName,
		markettypes.ModuleName, federatedtypes.ModuleName, verifytypes.ModuleName,
	)
	// genutil after staking (pools must exist) and after auth (its params);
	// bank before staking so that bonded pool balances are known.
	genesisOrder := []string{
		consensustypes.ModuleName, authtypes.ModuleName, banktypes.ModuleName, distrtypes.ModuleName,
		stakingtypes.ModuleName, slashingtypes.ModuleName, govtypes.ModuleName, minttypes.ModuleName,
		genutiltypes.ModuleName, evidencetypes.ModuleName, authz.ModuleName, feegrant.ModuleName,
		upgradetypes.ModuleName, epochstypes.ModuleName, providertypes.ModuleName, reputationtypes.ModuleName,
		markettypes.ModuleName, registrytypes.ModuleName, federatedtypes.ModuleName, verifytypes.ModuleName,
	}
	mm.SetOrderInitGenesis(genesisOrder...)
	mm.SetOrderExportGenesis(genesisOrder...)
}

// PreBlocker runs the modules' PreBlock and then tallies the vote
// extensions that the block carries.
func (app *App) PreBlocker(ctx sdk.Context, req *abci.RequestFinalizeBlock) (*sdk.ResponsePreBlock, error) {
	res, err := app.ModuleManager.PreBlock(ctx)
	if err != nil {
		return nil, err
	}
	if err := app.VoteExtensions.PreBlock(ctx, req); err != nil {
		return nil, err
	}
	return res, nil
}

// BeginBlocker runs the modules' BeginBlock.
func (app *App) BeginBlocker(ctx sdk.Context) (sdk.BeginBlock, error) {
	return app.ModuleManager.BeginBlock(ctx)
}

// EndBlocker runs the modules' EndBlock.
func (app *App) EndBlocker(ctx sdk.Context) (sdk.EndBlock, error) {
	return app.ModuleManager.EndBlock(ctx)
}

// InitChainer initialises every module from the genesis file's app_state.
func (app *App) InitChainer(ctx sdk.Context, req *abci.RequestInitChain) (*abci.ResponseInitChain, error) {
	var genesisState GenesisState
	if err := json.Unmarshal(req.AppStateBytes, &genesisState); err != nil {
		return nil, fmt.Errorf("genesis app_state: %w", err)
	}
	if err := app.UpgradeKeeper.SetModuleVersionMap(ctx, app.ModuleManager.GetVersionMap()); err != nil {
		return nil, err
	}
	return app.ModuleManager.InitGenesis(ctx, app.appCodec, genesisState)
}

// LoadHeight loads the state committed at height.
func (app *App) LoadHeight(height int64) error { return app.LoadVersion(height) }

// Configurator returns the module configurator, for migrations.
func (app *App) Configurator() module.Configurator { return app.configurator }

// LegacyAmino returns the app's amino codec.
func (app *App) LegacyAmino() *codec.LegacyAmino { return app.legacyAmino }

// AppCodec returns the app's protobuf codec.
func (app *App) AppCodec() codec.Codec { return app.appCodec }

// InterfaceRegistry returns the app's interface registry.
func (app *App) InterfaceRegistry() types.InterfaceRegistry { return app.interfaceRegistry }

// TxConfig returns the app's transaction configuration.
func (app *App) TxConfig() client.TxConfig { return app.txConfig }

// DefaultGenesis returns every module's default genesis state.
func (app *App) DefaultGenesis() map[string]json.RawMessage {
	return app.BasicModuleManager.DefaultGenesis(app.appCodec)
}

// GetKey returns the store key of a module, for tests.
func (app *App) GetKey(storeKey string) *storetypes.KVStoreKey { return app.keys[storeKey] }

// StoreKeyNames lists the names of every module store, sorted.
func (app *App) StoreKeyNames() []string {
	names := slices.Collect(maps.Keys(app.keys))
	slices.Sort(names)
	return names
}

// AutoCliOpts returns what AutoCLI needs to build every module's tx and
// query commands.
func (app *App) AutoCliOpts() autocli.AppOptions {
	modules := make(map[string]appmodule.AppModule)
	for _, m := range app.ModuleManager.Modules {
		if named, ok := m.(module.HasName); ok {
			if am, ok := named.(appmodule.AppModule); ok {
				modules[named.Name()] = am
			}
		}
	}
	return autocli.AppOptions{
		Modules:               modules,
		ModuleOptions:         runtimeservices.ExtractAutoCLIOptions(app.ModuleManager.Modules),
		AddressCodec:          authcodec.NewBech32Codec(Bech32Prefix),
		ValidatorAddressCodec: authcodec.NewBech32Codec(Bech32PrefixValAddr),
		ConsensusAddressCodec: authcodec.NewBech32Codec(Bech32PrefixConsAddr),
	}
}

// RegisterAPIRoutes registers the REST (gRPC-gateway) routes of every
// module and the OpenAPI description.
func (app *App) RegisterAPIRoutes(apiSvr *api.Server, apiConfig config.APIConfig) {
	clientCtx := apiSvr.ClientCtx
	authtx.RegisterGRPCGatewayRoutes(clientCtx, apiSvr.GRPCGatewayRouter)
	cmtservice.RegisterGRPCGatewayRoutes(clientCtx, apiSvr.GRPCGatewayRouter)
	nodeservice.RegisterGRPCGatewayRoutes(clientCtx, apiSvr.GRPCGatewayRouter)
	app.BasicModuleManager.RegisterGRPCGatewayRoutes(clientCtx, apiSvr.GRPCGatewayRouter)
	if err := server.RegisterSwaggerAPI(apiSvr.ClientCtx, apiSvr.Router, apiConfig.Swagger); err != nil {
		panic(err)
	}
}

// RegisterTxService registers the tx gRPC service (simulate, broadcast, get).
func (app *App) RegisterTxService(clientCtx client.Context) {
	authtx.RegisterTxService(app.GRPCQueryRouter(), clientCtx, app.Simulate, app.interfaceRegistry)
}

// RegisterTendermintService registers the CometBFT gRPC service.
func (app *App) RegisterTendermintService(clientCtx client.Context) {
	cmtApp := server.NewCometABCIWrapper(app)
	cmtservice.RegisterTendermintService(clientCtx, app.GRPCQueryRouter(), app.interfaceRegistry, cmtApp.Query)
}

// RegisterNodeService registers the node gRPC service (config, status).
func (app *App) RegisterNodeService(clientCtx client.Context, cfg config.Config) {
	nodeservice.RegisterNodeService(clientCtx, app.GRPCQueryRouter(), cfg, func() int64 {
		return app.CommitMultiStore().EarliestVersion()
	})
}

// GetMaccPerms returns a copy of the module account permissions.
func GetMaccPerms() map[string][]string { return maps.Clone(maccPerms) }

// BlockedAddresses returns the module accounts that may not receive tokens
// by a plain send. The gov account may, so that deposits can be returned.
func BlockedAddresses() map[string]bool {
	blocked := make(map[string]bool)
	for acc := range maccPerms {
		blocked[authtypes.NewModuleAddress(acc).String()] = true
	}
	delete(blocked, authtypes.NewModuleAddress(govtypes.ModuleName).String())
	return blocked
}
