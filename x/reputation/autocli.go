package reputation

import (
	autocliv1 "cosmossdk.io/api/cosmos/autocli/v1"

	"github.com/cohortchain/cohort/internal/modulebase"

	"github.com/cohortchain/cohort/x/reputation/types"
)

// AutoCLIOptions describes `cohortd q reputation ...`; scores have no
// user transactions.
func (AppModule) AutoCLIOptions() *autocliv1.ModuleOptions {
	return &autocliv1.ModuleOptions{
		Query: &autocliv1.ServiceCommandDescriptor{
			Service: types.Query_serviceDesc.ServiceName,
			RpcCommandOptions: []*autocliv1.RpcCommandOptions{
				{RpcMethod: "Params", Use: "params", Short: "The reputation module's parameters"},
				{RpcMethod: "Reputation", Use: "reputation [operator]", Short: "A provider's score and history",
					PositionalArgs: modulebase.Args("operator")},
				{RpcMethod: "Reputations", Use: "reputations", Short: "Every provider with a history"},
			},
		},
		Tx: &autocliv1.ServiceCommandDescriptor{
			Service:           types.Msg_serviceDesc.ServiceName,
			RpcCommandOptions: []*autocliv1.RpcCommandOptions{{RpcMethod: "UpdateParams", Skip: true}},
		},
	}
}
