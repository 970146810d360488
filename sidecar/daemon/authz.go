package daemon

import (
	"context"

	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/cosmos/cosmos-sdk/x/authz"

	fedtypes "github.com/cohortchain/cohort/x/federated/types"
	markettypes "github.com/cohortchain/cohort/x/market/types"
	providertypes "github.com/cohortchain/cohort/x/provider/types"
)

// GrantedMsgs are the messages a provider daemon sends for its provider
// account: the type URLs a granter authorizes (authz generic grants) when
// the daemon runs with Config.Granter.
var GrantedMsgs = []string{
	sdk.MsgTypeURL(&providertypes.MsgHeartbeat{}),
	sdk.MsgTypeURL(&fedtypes.MsgJoinRun{}),
	sdk.MsgTypeURL(&fedtypes.MsgSubmitUpdate{}),
	sdk.MsgTypeURL(&fedtypes.MsgSubmitSecAggMessage{}),
	sdk.MsgTypeURL(&markettypes.MsgSubmitResult{}),
}

// account is the provider account this daemon acts for: the granter when
// one is configured, else its own signing account.
func (d *Daemon) account() string {
	if d.cfg.Granter != "" {
		return d.cfg.Granter
	}
	return d.chain.AddressString()
}

// send broadcasts a provider message: as it is when the daemon signs for
// itself, wrapped in an authz MsgExec when it acts for a granter.
func (d *Daemon) send(ctx context.Context, msg sdk.Msg) (*sdk.TxResponse, error) {
	if d.cfg.Granter == "" {
		return d.chain.Broadcast(ctx, msg)
	}
	exec := authz.NewMsgExec(d.chain.Address(), []sdk.Msg{msg})
	return d.chain.Broadcast(ctx, &exec)
}
