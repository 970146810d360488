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
		&MsgRegisterModel{}, &MsgPublishVersion{}, &MsgSetLicense{}, &MsgSetAccess{}, &MsgGrantAccess{},
		&MsgRevokeAccess{}, &MsgSetVersionStatus{}, &MsgTransferOwnership{}, &MsgFreezeModel{},
	)
	msgservice.RegisterMsgServiceDesc(registry, &_Msg_serviceDesc)
}

// RegisterLegacyAminoCodec registers the messages for amino JSON signing.
func RegisterLegacyAminoCodec(cdc *codec.LegacyAmino) {
	for name, msg := range map[string]sdk.Msg{
		"MsgRegisterModel": &MsgRegisterModel{}, "MsgPublishVersion": &MsgPublishVersion{}, "MsgSetLicense": &MsgSetLicense{},
		"MsgSetAccess": &MsgSetAccess{}, "MsgGrantAccess": &MsgGrantAccess{}, "MsgRevokeAccess": &MsgRevokeAccess{},
		"MsgSetVersionStatus": &MsgSetVersionStatus{}, "MsgTransferOwnership": &MsgTransferOwnership{}, "MsgFreezeModel": &MsgFreezeModel{},
	} {
		cdc.RegisterConcrete(msg, "cohort/registry/"+name, nil)
	}
}
