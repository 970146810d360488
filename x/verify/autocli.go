package verify

import (
	autocliv1 "cosmossdk.io/api/cosmos/autocli/v1"

	"github.com/cohortchain/cohort/internal/modulebase"

	"github.com/cohortchain/cohort/x/verify/types"
)

// AutoCLIOptions describes `cohortd tx verify ...` and `cohortd q verify ...`.
func (AppModule) AutoCLIOptions() *autocliv1.ModuleOptions {
	return &autocliv1.ModuleOptions{
		Query: &autocliv1.ServiceCommandDescriptor{
			Service: types.Query_serviceDesc.ServiceName,
			RpcCommandOptions: []*autocliv1.RpcCommandOptions{
				{RpcMethod: "Params", Use: "params", Short: "The verify module's parameters"},
				{RpcMethod: "Task", Use: "task [id]", Short: "One verification task: work, sample, committee, verdict", PositionalArgs: modulebase.Args("id")},
				{RpcMethod: "TasksByJob", Use: "tasks-by-job [job-id]", Short: "The tasks that checked a market job", PositionalArgs: modulebase.Args("job_id")},
				{RpcMethod: "TasksByProvider", Use: "tasks-by-provider [provider]", Short: "The tasks that checked a provider's work", PositionalArgs: modulebase.Args("provider")},
				{RpcMethod: "TasksByState", Use: "tasks-by-state [state]", Short: "Tasks in one state (e.g. TASK_STATE_OPEN)", PositionalArgs: modulebase.Args("state")},
				{RpcMethod: "CommitteeTasks", Use: "committee-tasks [valcons-address]", Short: "The open tasks a validator must re-execute and attest", PositionalArgs: modulebase.Args("cons_address")},
				{RpcMethod: "ProviderHistory", Use: "provider-history [provider]", Short: "A provider's verification record", PositionalArgs: modulebase.Args("provider")},
				{RpcMethod: "ValidatorRecord", Use: "validator-record [valcons-address]", Short: "A validator's committee duty record", PositionalArgs: modulebase.Args("cons_address")},
				{RpcMethod: "Stats", Use: "stats", Short: "Detection statistics, and what each level costs and catches"},
			},
		},
		Tx: &autocliv1.ServiceCommandDescriptor{
			Service: types.Msg_serviceDesc.ServiceName,
			RpcCommandOptions: []*autocliv1.RpcCommandOptions{
				{RpcMethod: "OpenChallenge", Use: "open-challenge [task-id]",
					Short:          "Re-verify a decided task's work with the larger dispute sample (pays params.challenge_fee)",
					PositionalArgs: modulebase.Args("task_id")},
				{RpcMethod: "UpdateParams", Skip: true},
			},
		},
	}
}
