package types

import (
	"github.com/cosmos/cosmos-sdk/codec"
	codectypes "github.com/cosmos/cosmos-sdk/codec/types"
	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/cosmos/cosmos-sdk/types/msgservice"
)

// RegisterInterfaces registers the module's messages.
func RegisterInterfaces(registry codectypes.InterfaceRegistry) {
	registry.RegisterImplementations((*sdk.Msg)(nil),
		&MsgRegisterProvider{}, &MsgUpdateProvider{}, &MsgBondCollateral{}, &MsgUnbondCollateral{},
		&MsgHeartbeat{}, &MsgUnjail{}, &MsgUpdateParams{},
	)
	msgservice.RegisterMsgServiceDesc(registry, &_Msg_serviceDesc)
}

// RegisterLegacyAminoCodec registers the messages for amino JSON signing.
func RegisterLegacyAminoCodec(cdc *codec.LegacyAmino) {
	cdc.RegisterConcrete(&MsgRegisterProvider{}, "cohort/provider/MsgRegisterProvider", nil)
	cdc.RegisterConcrete(&MsgUpdateProvider{}, "cohort/provider/MsgUpdateProvider", nil)
	cdc.RegisterConcrete(&MsgBondCollateral{}, "cohort/provider/MsgBondCollateral", nil)
	cdc.RegisterConcrete(&MsgUnbondCollateral{}, "cohort/provider/MsgUnbondCollateral", nil)
	cdc.RegisterConcrete(&MsgHeartbeat{}, "cohort/provider/MsgHeartbeat", nil)
	cdc.RegisterConcrete(&MsgUnjail{}, "cohort/provider/MsgUnjail", nil)
	cdc.RegisterConcrete(&MsgUpdateParams{}, "cohort/provider/MsgUpdateParams", nil)
}
