package federated

import (
	autocliv1 "cosmossdk.io/api/cosmos/autocli/v1"

	"github.com/cohortchain/cohort/internal/modulebase"

	"github.com/cohortchain/cohort/x/federated/types"
)

// AutoCLIOptions describes `cohortd tx federated ...` and `cohortd q federated ...`.
func (AppModule) AutoCLIOptions() *autocliv1.ModuleOptions {
	return &autocliv1.ModuleOptions{
		Query: &autocliv1.ServiceCommandDescriptor{
			Service: types.Query_serviceDesc.ServiceName,
			RpcCommandOptions: []*autocliv1.RpcCommandOptions{
				{RpcMethod: "Params", Use: "params", Short: "The federated module's parameters"},
				{RpcMethod: "Run", Use: "run [id]", Short: "One training run", PositionalArgs: modulebase.Args("id")},
				{RpcMethod: "Runs", Use: "runs", Short: "Training runs"},
				{RpcMethod: "Participants", Use: "participants [run-id]", Short: "The providers that joined a run", PositionalArgs: modulebase.Args("run_id")},
				{RpcMethod: "Round", Use: "round [run-id] [number]", Short: "One round: selection, deadline, result", PositionalArgs: modulebase.Args("run_id", "number")},
				{RpcMethod: "Updates", Use: "updates [run-id] [round]", Short: "The update commitments of a round", PositionalArgs: modulebase.Args("run_id", "round")},
				{RpcMethod: "SecAggMessages", Use: "secagg-messages [run-id] [round] [stage]",
					Short:          "One secure-aggregation step's message commitments of a round (stage: SECAGG_STAGE_ADVERTISE, _SHARE_KEYS or _UNMASK)",
					PositionalArgs: modulebase.Args("run_id", "round", "stage")},
				{RpcMethod: "Escrow", Use: "escrow", Short: "The module account's balance and the escrow of all runs"},
			},
		},
		Tx: &autocliv1.ServiceCommandDescriptor{
			Service: types.Msg_serviceDesc.ServiceName,
			RpcCommandOptions: []*autocliv1.RpcCommandOptions{
				{RpcMethod: "CreateRun", Use: "create-run [spec-json]",
					Short:          "Open a training run and escrow rounds x max_participants x reward_per_update",
					Example:        `cohortd tx federated create-run '{"model":{"registry_model_id":"1","registry_version":"1"},"initial_weights_hash":"<base64 sha256>","initial_weights_location":"https://blobs.example/w0","rounds":10,"local_steps":50,"batch_size":64,"learning_rate":"0.01","aggregation":{"name":"fedavg"},"min_participants":3,"max_participants":5,"round_deadline_blocks":100,"reward_per_update":{"denom":"ucohort","amount":"1000"}}' --from carol`,
					PositionalArgs: modulebase.Args("spec")},
				{RpcMethod: "CancelRun", Use: "cancel-run [run-id]", Short: "End a run and refund its unspent escrow (client only)", PositionalArgs: modulebase.Args("run_id")},
				{RpcMethod: "JoinRun", Use: "join-run [run-id]", Short: "Join an open run as a bonded provider (a run that verifies updates needs --data-root, base64, and --data-size)", PositionalArgs: modulebase.Args("run_id")},
				{RpcMethod: "SubmitUpdate", Use: "submit-update [run-id] [round] [hash] [size] [location] [sample-count] [checkpoint-root]",
					Short:          "Commit to a round's local update (hashes as base64)",
					PositionalArgs: modulebase.Args("run_id", "round", "hash", "size", "location", "sample_count", "checkpoint_root")},
				{RpcMethod: "SubmitSecAggMessage", Use: "submit-secagg-message [run-id] [round] [stage] [hash] [size] [location]",
					Short:          "Commit to a secure-aggregation message of the current round (hash as base64); the sidecar sends these",
					PositionalArgs: modulebase.Args("run_id", "round", "stage", "hash", "size", "location")},
				{RpcMethod: "FinalizeRound", Use: "finalize-round [result-json]", Short: "Reveal the round result validators agreed on", PositionalArgs: modulebase.Args("result")},
				{RpcMethod: "UpdateParams", Skip: true},
			},
		},
	}
}
