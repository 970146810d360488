package market

import (
	autocliv1 "cosmossdk.io/api/cosmos/autocli/v1"

	"github.com/cohortchain/cohort/internal/modulebase"

	"github.com/cohortchain/cohort/x/market/types"
)

// AutoCLIOptions describes `cohortd tx market ...` and `cohortd q market ...`.
func (AppModule) AutoCLIOptions() *autocliv1.ModuleOptions {
	return &autocliv1.ModuleOptions{
		Query: &autocliv1.ServiceCommandDescriptor{
			Service: types.Query_serviceDesc.ServiceName,
			RpcCommandOptions: []*autocliv1.RpcCommandOptions{
				{RpcMethod: "Params", Use: "params", Short: "The market's parameters"},
				{RpcMethod: "Job", Use: "job [id]", Short: "One job, with its lease and escrow", PositionalArgs: modulebase.Args("id")},
				{RpcMethod: "Jobs", Use: "jobs", Short: "Jobs, filtered by --client, --provider or --state"},
				{RpcMethod: "Bids", Use: "bids [job-id]", Short: "The bids on a job", PositionalArgs: modulebase.Args("job_id")},
				{RpcMethod: "Escrow", Use: "escrow", Short: "What the market holds (--job-id for one job)"},
			},
		},
		Tx: &autocliv1.ServiceCommandDescriptor{
			Service: types.Msg_serviceDesc.ServiceName,
			RpcCommandOptions: []*autocliv1.RpcCommandOptions{
				{RpcMethod: "CreateJob", Use: "create-job [kind] [spec-json] [units] [max-price] [budget] [deadline-blocks]",
					Short:          "Open a job and escrow its budget (kind: training, inference or verification)",
					Example:        `cohortd tx market create-job training '{"model_id":"mnist-mlp","data_requirement":"fashion-mnist"}' 100 10ucohort 1000ucohort 200 --from bob`,
					PositionalArgs: modulebase.Args("kind", "spec", "units", "max_price", "budget", "deadline_blocks")},
				{RpcMethod: "PlaceBid", Use: "bid [job-id] [price] [deposit]", Short: "Bid on an open job", PositionalArgs: modulebase.Args("job_id", "price", "deposit")},
				{RpcMethod: "CloseBid", Use: "close-bid [job-id]", Short: "Withdraw an open bid", PositionalArgs: modulebase.Args("job_id")},
				{RpcMethod: "AcceptBid", Use: "accept-bid [job-id] [provider]", Short: "Make a bid the job's lease", PositionalArgs: modulebase.Args("job_id", "provider")},
				{RpcMethod: "SubmitResult", Use: "submit-result [job-id] [result-json]", Short: "Deliver a lease's result",
					Example:        `cohortd tx market submit-result 1 '{"hash":"<base64 sha256>","size":"1024","location":"https://gpu-1.example/blobs/<hex>"}' --from alice`,
					PositionalArgs: modulebase.Args("job_id", "result")},
				{RpcMethod: "AcceptResult", Use: "accept-result [job-id]", Short: "Settle a submitted result now", PositionalArgs: modulebase.Args("job_id")},
				{RpcMethod: "Dispute", Use: "dispute [job-id] [reason]", Short: "Challenge a submitted result (posts the dispute bond); x/verify re-executes it and its verdict settles the dispute", PositionalArgs: modulebase.Args("job_id", "reason")},
				{RpcMethod: "CancelJob", Use: "cancel-job [job-id]", Short: "Cancel a job without a result and get the escrow back", PositionalArgs: modulebase.Args("job_id")},
				{RpcMethod: "ClaimUsage", Use: "claim-usage [job-id] [voucher-json] [client-signature]", Short: "Claim a metered (inference) lease's usage with the client's highest signed voucher (the provider sidecar does this)", PositionalArgs: modulebase.Args("job_id", "voucher", "client_signature")},
				{RpcMethod: "ReportMismatch", Use: "report-mismatch [receipt-json] [signature] [input-location]", Short: "Report an inference output as wrong (the gateway does this); opens an x/verify challenge", PositionalArgs: modulebase.Args("receipt", "signature", "input_location")},
				{RpcMethod: "TopUp", Use: "top-up [job-id] [amount]", Short: "Add to a job's escrow; a paused lease resumes", PositionalArgs: modulebase.Args("job_id", "amount")},
				{RpcMethod: "UpdateParams", Skip: true},
			},
		},
	}
}
