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
		&MsgCreateJob{}, &MsgPlaceBid{}, &MsgCloseBid{}, &MsgAcceptBid{}, &MsgSubmitResult{},
		&MsgAcceptResult{}, &MsgDispute{}, &MsgCancelJob{}, &MsgClaimUsage{}, &MsgTopUp{},
		&MsgUpdateParams{}, &MsgReportMismatch{},
	)
	msgservice.RegisterMsgServiceDesc(registry, &_Msg_serviceDesc)
}

// RegisterLegacyAminoCodec registers the messages for amino JSON signing.
func RegisterLegacyAminoCodec(cdc *codec.LegacyAmino) {
	for name, msg := range map[string]sdk.Msg{
		"MsgCreateJob": &MsgCreateJob{}, "MsgPlaceBid": &MsgPlaceBid{}, "MsgCloseBid": &MsgCloseBid{},
		"MsgAcceptBid": &MsgAcceptBid{}, "MsgSubmitResult": &MsgSubmitResult{}, "MsgAcceptResult": &MsgAcceptResult{},
		"MsgDispute": &MsgDispute{}, "MsgCancelJob": &MsgCancelJob{},
		"MsgClaimUsage": &MsgClaimUsage{}, "MsgTopUp": &MsgTopUp{}, "MsgUpdateParams": &MsgUpdateParams{},
		"MsgReportMismatch": &MsgReportMismatch{},
	} {
		cdc.RegisterConcrete(msg, "cohort/market/"+name, nil)
	}
}
