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
		&MsgCreateRun{}, &MsgCancelRun{}, &MsgJoinRun{}, &MsgSubmitUpdate{}, &MsgSubmitSecAggMessage{}, &MsgFinalizeRound{}, &MsgUpdateParams{},
	)
	msgservice.RegisterMsgServiceDesc(registry, &_Msg_serviceDesc)
}

// RegisterLegacyAminoCodec registers the messages for amino JSON signing.
func RegisterLegacyAminoCodec(cdc *codec.LegacyAmino) {
	for name, msg := range map[string]sdk.Msg{
		"MsgCreateRun": &MsgCreateRun{}, "MsgCancelRun": &MsgCancelRun{}, "MsgJoinRun": &MsgJoinRun{},
		"MsgSubmitUpdate": &MsgSubmitUpdate{}, "MsgSubmitSecAggMessage": &MsgSubmitSecAggMessage{}, "MsgFinalizeRound": &MsgFinalizeRound{}, "MsgUpdateParams": &MsgUpdateParams{},
	} {
		cdc.RegisterConcrete(msg, "cohort/federated/"+name, nil)
	}
}
