// Package registry is the Cohort module that records every model: what it
// is, its versions and their lineage, and on what terms it may be used.
package registry

import (
	"context"

	gwruntime "github.com/grpc-ecosystem/grpc-gateway/runtime"

	"cosmossdk.io/core/appmodule"

	"github.com/cosmos/cosmos-sdk/client"
	"github.com/cosmos/cosmos-sdk/codec"
	"github.com/cosmos/cosmos-sdk/types/module"

	"github.com/cohortchain/cohort/internal/modulebase"
	"github.com/cohortchain/cohort/x/registry/keeper"
	"github.com/cohortchain/cohort/x/registry/types"
)

// ConsensusVersion is the version of the module's state layout.
const ConsensusVersion = 1

var (
	_ module.AppModuleBasic = AppModule{}
	_ module.HasGenesis     = AppModule{}
	_ module.HasServices    = AppModule{}
	_ appmodule.AppModule   = AppModule{}
)

// AppModule is the registry module.
type AppModule struct {
	modulebase.Module[types.GenesisState, *types.GenesisState]
	keeper keeper.Keeper
}

// NewAppModule returns the module over k.
func NewAppModule(_ codec.Codec, k keeper.Keeper) AppModule {
	return AppModule{keeper: k, Module: modulebase.New(modulebase.Spec[types.GenesisState, *types.GenesisState]{
		Name:               types.ModuleName,
		ConsensusVersion:   ConsensusVersion,
		AddressCodec:       k.AddressCodec(),
		RegisterInterfaces: types.RegisterInterfaces,
		RegisterAmino:      types.RegisterLegacyAminoCodec,
		RegisterGateway: func(ctx context.Context, mux *gwruntime.ServeMux, c client.Context) error {
			return types.RegisterQueryHandlerClient(ctx, mux, types.NewQueryClient(c))
		},
		RegisterServices: func(cfg module.Configurator) {
			types.RegisterMsgServer(cfg.MsgServer(), keeper.NewMsgServer(k))
			types.RegisterQueryServer(cfg.QueryServer(), keeper.NewQueryServer(k))
		},
		DefaultGenesis:  types.DefaultGenesis,
		ValidateGenesis: (*types.GenesisState).Validate,
		InitGenesis:     func(ctx context.Context, gs *types.GenesisState) error { return k.InitGenesis(ctx, *gs) },
		ExportGenesis:   k.ExportGenesis,
	})}
}
