// Package modulebase is the part of an SDK AppModule that is the same for
// every Cohort module: naming, codec registration, genesis plumbing, REST
// routes and services. A module embeds Module and adds what is its own
// (block hooks, AutoCLI options).
package modulebase

import (
	"context"
	"encoding/json"
	"fmt"

	gogoproto "github.com/cosmos/gogoproto/proto"
	gwruntime "github.com/grpc-ecosystem/grpc-gateway/runtime"

	"cosmossdk.io/core/address"

	"github.com/cosmos/cosmos-sdk/client"
	"github.com/cosmos/cosmos-sdk/codec"
	cdctypes "github.com/cosmos/cosmos-sdk/codec/types"
	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/cosmos/cosmos-sdk/types/module"
)

// Spec describes a module to Module. G is the module's GenesisState.
type Spec[G any, P interface {
	*G
	gogoproto.Message
}] struct {
	Name             string
	ConsensusVersion uint64
	AddressCodec     address.Codec

	RegisterInterfaces func(cdctypes.InterfaceRegistry)
	RegisterAmino      func(*codec.LegacyAmino)
	// RegisterGateway is the generated RegisterQueryHandlerClient, bound to
	// a query client.
	RegisterGateway  func(context.Context, *gwruntime.ServeMux, client.Context) error
	RegisterServices func(module.Configurator)

	DefaultGenesis  func() P
	ValidateGenesis func(P, address.Codec) error
	InitGenesis     func(context.Context, P) error
	ExportGenesis   func(context.Context) (P, error)
}

// Module implements the SDK module interfaces from a Spec.
type Module[G any, P interface {
	*G
	gogoproto.Message
}] struct {
	spec Spec[G, P]
}

// New returns the module described by spec.
func New[G any, P interface {
	*G
	gogoproto.Message
}](spec Spec[G, P]) Module[G, P] {
	return Module[G, P]{spec: spec}
}

// Name is the module name.
func (m Module[G, P]) Name() string { return m.spec.Name }

// IsOnePerModuleType marks the module.
func (Module[G, P]) IsOnePerModuleType() {}

// IsAppModule marks the module.
func (Module[G, P]) IsAppModule() {}

// ConsensusVersion is the version of the module's state layout.
func (m Module[G, P]) ConsensusVersion() uint64 { return m.spec.ConsensusVersion }

// RegisterLegacyAminoCodec registers the messages for amino JSON signing.
func (m Module[G, P]) RegisterLegacyAminoCodec(cdc *codec.LegacyAmino) { m.spec.RegisterAmino(cdc) }

// RegisterInterfaces registers the messages.
func (m Module[G, P]) RegisterInterfaces(r cdctypes.InterfaceRegistry) { m.spec.RegisterInterfaces(r) }

// RegisterGRPCGatewayRoutes registers the REST routes.
func (m Module[G, P]) RegisterGRPCGatewayRoutes(clientCtx client.Context, mux *gwruntime.ServeMux) {
	if err := m.spec.RegisterGateway(context.Background(), mux, clientCtx); err != nil {
		panic(err)
	}
}

// RegisterServices registers the Msg and Query services.
func (m Module[G, P]) RegisterServices(cfg module.Configurator) { m.spec.RegisterServices(cfg) }

// DefaultGenesis returns the module's default genesis.
func (m Module[G, P]) DefaultGenesis(cdc codec.JSONCodec) json.RawMessage {
	return cdc.MustMarshalJSON(m.spec.DefaultGenesis())
}

// ValidateGenesis checks the module's genesis.
func (m Module[G, P]) ValidateGenesis(cdc codec.JSONCodec, _ client.TxEncodingConfig, bz json.RawMessage) error {
	gs := P(new(G))
	if err := cdc.UnmarshalJSON(bz, gs); err != nil {
		return fmt.Errorf("%s genesis: %w", m.spec.Name, err)
	}
	return m.spec.ValidateGenesis(gs, m.spec.AddressCodec)
}

// InitGenesis loads the module's genesis.
func (m Module[G, P]) InitGenesis(ctx sdk.Context, cdc codec.JSONCodec, bz json.RawMessage) {
	gs := P(new(G))
	cdc.MustUnmarshalJSON(bz, gs)
	if err := m.spec.InitGenesis(ctx, gs); err != nil {
		panic(fmt.Errorf("%s genesis: %w", m.spec.Name, err))
	}
}

// ExportGenesis exports the module's state.
func (m Module[G, P]) ExportGenesis(ctx sdk.Context, cdc codec.JSONCodec) json.RawMessage {
	gs, err := m.spec.ExportGenesis(ctx)
	if err != nil {
		panic(fmt.Errorf("%s genesis: %w", m.spec.Name, err))
	}
	return cdc.MustMarshalJSON(gs)
}
