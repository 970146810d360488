// Package verify is the Cohort module for proof-of-compute: committed work
// (training leases, federated updates, a sampled fraction of inference) is
// checked by re-executing a few steps drawn from a later block's hash, by a
// committee of validators sampled by stake, whose sidecars attest a verdict
// in vote extensions (kind "verify-task"). Verdicts slash and refund
// automatically; validators that attest against the quorum or not at all
// forfeit their fee share and are jailed after repeated misses.
package verify

import (
	"context"

	gwruntime "github.com/grpc-ecosystem/grpc-gateway/runtime"

	"cosmossdk.io/core/appmodule"

	"github.com/cosmos/cosmos-sdk/client"
	"github.com/cosmos/cosmos-sdk/codec"
	"github.com/cosmos/cosmos-sdk/types/module"

	"github.com/cohortchain/cohort/app/voteext"
	"github.com/cohortchain/cohort/internal/modulebase"
	"github.com/cohortchain/cohort/x/verify/keeper"
	"github.com/cohortchain/cohort/x/verify/types"
)

// ConsensusVersion is the version of the module's state layout.
const ConsensusVersion = 1

var (
	_ module.AppModuleBasic     = AppModule{}
	_ module.HasGenesis         = AppModule{}
	_ module.HasServices        = AppModule{}
	_ appmodule.AppModule       = AppModule{}
	_ appmodule.HasBeginBlocker = AppModule{}
	_ appmodule.HasEndBlocker   = AppModule{}
)

// AppModule is the verify module.
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

// BeginBlock draws the tasks committed in earlier blocks from this block's
// header hash (keeper.BeginBlocker).
func (am AppModule) BeginBlock(ctx context.Context) error { return am.keeper.BeginBlocker(ctx) }

// EndBlock expires tasks past their deadline (keeper.EndBlocker).
func (am AppModule) EndBlock(ctx context.Context) error { return am.keeper.EndBlocker(ctx) }

// AttestationHandler is the vote-extension handler of kind
// types.AttestationKind: each task is decided by its own committee, and
// the agreed verdict is applied (keeper.OnAgreement). app.go registers it.
func (am AppModule) AttestationHandler() voteext.CommitteeHandler {
	return voteext.CommitteeHandler{Agree: am.keeper.OnAgreement, CommitteeOf: am.keeper.Committee}
}
