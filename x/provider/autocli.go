package provider

import (
	autocliv1 "cosmossdk.io/api/cosmos/autocli/v1"

	"github.com/cohortchain/cohort/internal/modulebase"

	"github.com/cohortchain/cohort/x/provider/types"
)

// AutoCLIOptions describes the module's CLI: `cohortd tx provider ...` and
// `cohortd q provider ...`.
func (AppModule) AutoCLIOptions() *autocliv1.ModuleOptions {
	return &autocliv1.ModuleOptions{
		Query: &autocliv1.ServiceCommandDescriptor{
			Service: types.Query_serviceDesc.ServiceName,
			RpcCommandOptions: []*autocliv1.RpcCommandOptions{
				{RpcMethod: "Params", Use: "params", Short: "The provider module's parameters"},
				{RpcMethod: "Provider", Use: "provider [operator]", Short: "One provider, and whether it may bid now",
					PositionalArgs: modulebase.Args("operator")},
				{RpcMethod: "Providers", Use: "providers", Short: "All providers (--status to filter)"},
				{RpcMethod: "Unbondings", Use: "unbondings [operator]", Short: "A provider's collateral on its way out",
					PositionalArgs: modulebase.Args("operator")},
			},
		},
		Tx: &autocliv1.ServiceCommandDescriptor{
			Service: types.Msg_serviceDesc.ServiceName,
			RpcCommandOptions: []*autocliv1.RpcCommandOptions{
				{RpcMethod: "RegisterProvider", Use: "register [info-json] [collateral]",
					Short:          "Register the signer as a provider; info is a JSON ProviderInfo",
					Example:        `cohortd tx provider register '{"moniker":"gpu-1","hardware":{"gpu_model":"H100","gpu_count":8,"gpu_memory_gib":80,"cpu_cores":64,"ram_gib":512},"region":"eu","endpoints":["https://gpu-1.example"],"prices":{"training_per_step":{"denom":"ucohort","amount":"100"}}}' 1000000000ucohort --from alice`,
					PositionalArgs: modulebase.Args("info", "collateral")},
				{RpcMethod: "UpdateProvider", Use: "update [info-json]", Short: "Replace the signer's provider description",
					PositionalArgs: modulebase.Args("info")},
				{RpcMethod: "BondCollateral", Use: "bond [amount]", Short: "Bond collateral",
					PositionalArgs: modulebase.Args("amount")},
				{RpcMethod: "UnbondCollateral", Use: "unbond [amount]", Short: "Start unbonding collateral (slashable until it completes)",
					PositionalArgs: modulebase.Args("amount")},
				{RpcMethod: "Heartbeat", Use: "heartbeat", Short: "Tell the chain the provider is alive"},
				{RpcMethod: "Unjail", Use: "unjail", Short: "Return to service after the jail time"},
				{RpcMethod: "UpdateParams", Skip: true},
			},
		},
	}
}
