package registry

import (
	autocliv1 "cosmossdk.io/api/cosmos/autocli/v1"

	"github.com/cohortchain/cohort/internal/modulebase"

	"github.com/cohortchain/cohort/x/registry/types"
)

// AutoCLIOptions describes `cohortd tx registry ...` and `cohortd q registry ...`.
func (AppModule) AutoCLIOptions() *autocliv1.ModuleOptions {
	return &autocliv1.ModuleOptions{
		Query: &autocliv1.ServiceCommandDescriptor{
			Service: types.Query_serviceDesc.ServiceName,
			RpcCommandOptions: []*autocliv1.RpcCommandOptions{
				{RpcMethod: "Model", Use: "model [id]", Short: "One model", PositionalArgs: modulebase.Args("id")},
				{RpcMethod: "ModelByName", Use: "model-by-name [owner] [name]", Short: "A model by its owner and name", PositionalArgs: modulebase.Args("owner", "name")},
				{RpcMethod: "Models", Use: "models", Short: "Models, filtered by --owner, --task or --license"},
				{RpcMethod: "Version", Use: "version [model-id] [number]", Short: "One version", PositionalArgs: modulebase.Args("model_id", "number")},
				{RpcMethod: "Versions", Use: "versions [model-id]", Short: "A model's versions", PositionalArgs: modulebase.Args("model_id")},
				{RpcMethod: "Lineage", Use: "lineage [model-id] [number]", Short: "A version's ancestors and descendants", PositionalArgs: modulebase.Args("model_id", "number")},
				{RpcMethod: "VersionByJob", Use: "version-by-job [job-id]", Short: "The version a market job produced", PositionalArgs: modulebase.Args("job_id")},
				{RpcMethod: "VersionByFederatedRun", Use: "version-by-run [run-id]", Short: "The version a federated run published", PositionalArgs: modulebase.Args("run_id")},
				{RpcMethod: "CanUse", Use: "can-use [model-id] [number] [account]", Short: "Whether an account may use a version", PositionalArgs: modulebase.Args("model_id", "number", "account")},
			},
		},
		Tx: &autocliv1.ServiceCommandDescriptor{
			Service: types.Msg_serviceDesc.ServiceName,
			RpcCommandOptions: []*autocliv1.RpcCommandOptions{
				{RpcMethod: "RegisterModel", Use: "register-model [name] [task] [architecture-json] [license-json]",
					Short:          "Register a model owned by the signer (--description, --public)",
					Example:        `cohortd tx registry register-model mnist-mlp classification '{"layers":[{"kind":"dense","inputs":784,"outputs":128,"activation":"relu"},{"kind":"dense","inputs":128,"outputs":10}]}' '{"spdx_id":"Apache-2.0"}' --public --from alice`,
					PositionalArgs: modulebase.Args("name", "task", "architecture", "license")},
				{RpcMethod: "PublishVersion", Use: "publish-version [model-id] [weights-hash] [size] [format] [location]...",
					Short:          "Publish the next version (--semver, --metrics, --provenance as JSON)",
					PositionalArgs: append(modulebase.Args("model_id", "weights_hash", "size", "format"), &autocliv1.PositionalArgDescriptor{ProtoField: "locations", Varargs: true})},
				{RpcMethod: "SetLicense", Use: "set-license [model-id] [license-json]", Short: "Replace a model's licence", PositionalArgs: modulebase.Args("model_id", "license")},
				{RpcMethod: "SetAccess", Use: "set-access [model-id] [public]", Short: "Make a model public (true) or restricted (false)", PositionalArgs: modulebase.Args("model_id", "public")},
				{RpcMethod: "GrantAccess", Use: "grant-access [model-id] [grantee]", Short: "Allow an account to use a restricted model", PositionalArgs: modulebase.Args("model_id", "grantee")},
				{RpcMethod: "RevokeAccess", Use: "revoke-access [model-id] [grantee]", Short: "Take an account off the allow list", PositionalArgs: modulebase.Args("model_id", "grantee")},
				{RpcMethod: "SetVersionStatus", Use: "set-version-status [model-id] [number] [status]", Short: "active, deprecated or yanked", PositionalArgs: modulebase.Args("model_id", "number", "status")},
				{RpcMethod: "TransferOwnership", Use: "transfer [model-id] [new-owner]", Short: "Hand a model to another account", PositionalArgs: modulebase.Args("model_id", "new_owner")},
				{RpcMethod: "FreezeModel", Skip: true},
			},
		},
	}
}
