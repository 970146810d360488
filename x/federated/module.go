// Package federated is the Cohort module for federated training: clients
// open runs and escrow their rewards, bonded providers join and train
// locally, each round's selected participants commit to their updates, and
// validators aggregate them off-chain and agree on the result through vote
// extensions (kind "federated-round").
package federated

import (
	"context"

	gwruntime "github.com/grpc-ecosystem/grpc-gateway/runtime"

	"cosmossdk.io/core/appmodule"

	"github.com/cosmos/cosmos-sdk/client"
	"github.com/cosmos/cosmos-sdk/codec"
	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/cosmos/cosmos-sdk/types/module"

	"github.com/cohortchain/cohort/internal/modulebase"
	"github.com/cohortchain/cohort/x/federated/keeper"
	"github.com/cohortchain/cohort/x/federated/types"
)

// ConsensusVersion is the version of the module's state layout.
const ConsensusVersion = 1

var (
	_ module.AppModuleBasic   = AppModule{}
	_ module.HasGenesis       = AppModule{}
	_ module.HasServices      = AppModule{}
	_ appmodule.AppModule     = AppModule{}
	_ appmodule.HasEndBlocker = AppModule{}
)

// AppModule is the federated module.
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

// EndBlock opens first rounds and handles round deadlines (keeper.EndBlocker).
func (am AppModule) EndBlock(ctx context.Context) error { return am.keeper.EndBlocker(ctx) }

// OnAttestation is the vote-extension handler of kind types.AttestationKind:
// it records the aggregate commitment the validators agreed on for a round.
// app.go registers it with the voteext router.
func (am AppModule) OnAttestation(ctx sdk.Context, subject, resultHash []byte) error {
	return am.keeper.OnAgreement(ctx, subject, resultHash)
}
