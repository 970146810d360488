package cmd

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	cmtcfg "github.com/cometbft/cometbft/config"
	cmttypes "github.com/cometbft/cometbft/types"
	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/cobra"

	sdkmath "cosmossdk.io/math"

	"github.com/cosmos/cosmos-sdk/client"
	"github.com/cosmos/cosmos-sdk/client/flags"
	"github.com/cosmos/cosmos-sdk/client/tx"
	"github.com/cosmos/cosmos-sdk/crypto/hd"
	"github.com/cosmos/cosmos-sdk/crypto/keyring"
	cryptotypes "github.com/cosmos/cosmos-sdk/crypto/types"
	serverconfig "github.com/cosmos/cosmos-sdk/server/config"
	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/cosmos/cosmos-sdk/types/module"
	"github.com/cosmos/cosmos-sdk/types/tx/signing"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"
	banktypes "github.com/cosmos/cosmos-sdk/x/bank/types"
	"github.com/cosmos/cosmos-sdk/x/genutil"
	genutiltypes "github.com/cosmos/cosmos-sdk/x/genutil/types"
	stakingtypes "github.com/cosmos/cosmos-sdk/x/staking/types"

	"github.com/cohortchain/cohort/app"
	"github.com/cohortchain/cohort/internal/chainconfig"
)

const (
	flagValidators     = "validators"
	flagOutputDir      = "output-dir"
	flagConfigFile     = "config"
	flagVoteExtHeight  = "vote-extensions-height"
	flagTimeoutCommit  = "timeout-commit"
	flagSidecarAddress = "sidecar-address"
	flagPortOffset     = "port-offset"
)

// Ports of validator i on loopback are the base ports plus i times the step.
const (
	baseP2PPort  = 26656
	baseRPCPort  = 26657
	rpcPortStep  = 10
	baseAPIPort  = 1317
	baseGRPCPort = 9090
)

// NodePorts are the loopback ports that validator i of a testnet listens on.
type NodePorts struct{ P2P, RPC, API, GRPC int }

// PortsOf returns the ports of validator i: node0 has the well-known ports
// (RPC 26657, REST 1317, gRPC 9090), node i the same plus an offset; offset
// shifts every port, so that two networks can run side by side.
func PortsOf(i, offset int) NodePorts {
	return NodePorts{
		P2P:  offset + baseP2PPort + rpcPortStep*i,
		RPC:  offset + baseRPCPort + rpcPortStep*i,
		API:  offset + baseAPIPort + i,
		GRPC: offset + baseGRPCPort + 2*i,
	}
}

// NewTestnetCmd returns `cohortd testnet`, which writes the files of a
// multi-validator network on loopback.
func NewTestnetCmd(mbm module.BasicManager) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "testnet",
		Short: "Write the files of a local multi-validator network",
		RunE:  client.ValidateCmd,
	}
	cmd.AddCommand(testnetInitFilesCmd(mbm))
	return cmd
}

func testnetInitFilesCmd(mbm module.BasicManager) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "init-files",
		Short: "Write a home directory per validator, a shared genesis and the keys of every account",
		Long: `Writes <output-dir>/node0 .. node<N-1>, one home per validator, with config.toml,
app.toml and client.toml set for separate processes on 127.0.0.1, and the same genesis.

With --config, the accounts, validators and genesis overrides come from that file
(config.yml, Ignite's format). --validators beyond those the file lists are added,
each with the stake of the last listed one. The keys of every account are in
node0's keyring (backend "test").

Node i listens on RPC 26657+10i, P2P 26656+10i, REST 1317+i and gRPC 9090+2i,
each plus --port-offset.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			clientCtx, err := client.GetClientQueryContext(cmd)
			if err != nil {
				return err
			}
			var o testnetOptions
			o.validators, _ = cmd.Flags().GetInt(flagValidators)
			o.outputDir, _ = cmd.Flags().GetString(flagOutputDir)
			o.configFile, _ = cmd.Flags().GetString(flagConfigFile)
			o.chainID, _ = cmd.Flags().GetString(flags.FlagChainID)
			o.voteExtHeight, _ = cmd.Flags().GetInt64(flagVoteExtHeight)
			o.timeoutCommit, _ = cmd.Flags().GetDuration(flagTimeoutCommit)
			o.sidecar, _ = cmd.Flags().GetString(flagSidecarAddress)
			o.portOffset, _ = cmd.Flags().GetInt(flagPortOffset)
			return initTestnetFiles(cmd, clientCtx, mbm, o)
		},
	}
	cmd.Flags().Int(flagValidators, 0, "number of validators (default: as many as --config lists, or 4)")
	cmd.Flags().String(flagOutputDir, "./.testnet", "directory to write the validators' homes into")
	cmd.Flags().String(flagConfigFile, "", "config.yml describing accounts, validators and genesis overrides")
	cmd.Flags().String(flags.FlagChainID, "", "chain id (default: genesis.chain_id of --config, or cohort-local-1)")
	cmd.Flags().Int64(flagVoteExtHeight, 2, "height from which vote extensions are on (0: off)")
	cmd.Flags().Duration(flagTimeoutCommit, time.Second, "CometBFT timeout_commit: the pause between blocks")
	cmd.Flags().String(flagSidecarAddress, "", "sidecar URL for every node's app.toml (empty: no sidecar)")
	cmd.Flags().Int(flagPortOffset, 0, "added to every port, to run beside another network")
	return cmd
}

type testnetOptions struct {
	validators    int
	outputDir     string
	configFile    string
	chainID       string
	voteExtHeight int64
	timeoutCommit time.Duration
	sidecar       string
	portOffset    int
}

// defaultChainConfig is the description used without --config: funded
// accounts alice and bob, and one validator run by alice.
func defaultChainConfig() *chainconfig.Config {
	cfg, err := chainconfig.Parse([]byte(`
version: 1
accounts:
  - name: alice
    coins: ["100000000000000ucohort"]
  - name: bob
    coins: ["100000000000000ucohort"]
validators:
  - name: alice
    bonded: "10000000000ucohort"
genesis:
  chain_id: cohort-local-1
`), app.BaseDenom)
	if err != nil {
		panic(err)
	}
	return cfg
}

// plannedValidator is one validator of the network being written.
type plannedValidator struct {
	name    string
	stake   sdk.Coin
	app     map[string]any
	config  map[string]any
	home    string
	nodeID  string
	ports   NodePorts
	cmtCfg  *cmtcfg.Config
	valAddr sdk.ValAddress
}

func initTestnetFiles(cmd *cobra.Command, clientCtx client.Context, mbm module.BasicManager, o testnetOptions) error {
	chain := defaultChainConfig()
	if o.configFile != "" {
		var err error
		if chain, err = chainconfig.Load(o.configFile, app.BaseDenom); err != nil {
			return err
		}
	}
	chainID := chain.Genesis.ChainID
	if o.chainID != "" {
		chainID = o.chainID
	}
	n := o.validators
	if n == 0 {
		n = len(chain.Validators)
		if o.configFile == "" {
			n = 4
		}
	}
	if n < 1 || n > 50 {
		return fmt.Errorf("--%s: must be 1 to 50, got %d", flagValidators, n)
	}
	if o.voteExtHeight < 0 {
		return fmt.Errorf("--%s: must not be negative", flagVoteExtHeight)
	}
	if _, err := os.Stat(filepath.Join(o.outputDir, "gentxs")); err == nil {
		return fmt.Errorf("%s already holds a network: remove it or choose another --%s", o.outputDir, flagOutputDir)
	}

	// Validators beyond those listed get an account each, funded like the
	// last listed validator's account, and the same stake.
	last := chain.Validators[len(chain.Validators)-1]
	lastAcc := chain.Account(last.Name)
	for i := len(chain.Validators); i < n; i++ {
		name := fmt.Sprintf("validator%d", i)
		chain.Accounts = append(chain.Accounts, chainconfig.Account{Name: name, Balance: lastAcc.Balance})
		chain.Validators = append(chain.Validators, chainconfig.Validator{Name: name, Stake: last.Stake, App: last.App, Config: last.Config})
	}
	chain.Validators = chain.Validators[:n]

	outDir, err := filepath.Abs(o.outputDir)
	if err != nil {
		return err
	}
	gentxsDir := filepath.Join(outDir, "gentxs")
	if err := os.MkdirAll(gentxsDir, 0o755); err != nil {
		return err
	}

	// Keys: every account's key lives in node0's keyring, the client home.
	clientHome := filepath.Join(outDir, "node0")
	kr, err := keyring.New(sdk.KeyringServiceName(), keyring.BackendTest, clientHome, nil, clientCtx.Codec)
	if err != nil {
		return err
	}
	var (
		genAccounts []authtypes.GenesisAccount
		balances    []banktypes.Balance
		mnemonics   = map[string]string{}
	)
	for _, acc := range chain.Accounts {
		rec, mnemonic, err := addKey(kr, acc.Name, acc.Mnemonic)
		if err != nil {
			return fmt.Errorf("key %q: %w", acc.Name, err)
		}
		mnemonics[acc.Name] = mnemonic
		addr, err := rec.GetAddress()
		if err != nil {
			return err
		}
		genAccounts = append(genAccounts, authtypes.NewBaseAccount(addr, nil, 0, 0))
		balances = append(balances, banktypes.Balance{Address: addr.String(), Coins: acc.Balance.Sort()})
	}

	// Homes, node keys and gentxs.
	vals := make([]*plannedValidator, n)
	for i, v := range chain.Validators {
		pv := &plannedValidator{
			name: v.Name, stake: v.Stake, app: v.App, config: v.Config,
			home:  filepath.Join(outDir, fmt.Sprintf("node%d", i)),
			ports: PortsOf(i, o.portOffset),
		}
		if err := writeNodeConfigs(pv, chainID, o); err != nil {
			return fmt.Errorf("node%d: %w", i, err)
		}
		nodeID, valPubKey, err := genutil.InitializeNodeValidatorFiles(pv.cmtCfg)
		if err != nil {
			return err
		}
		pv.nodeID = nodeID
		rec, err := kr.Key(v.Name)
		if err != nil {
			return err
		}
		addr, err := rec.GetAddress()
		if err != nil {
			return err
		}
		pv.valAddr = sdk.ValAddress(addr)
		// The validator's own home gets its operator key too.
		if i > 0 {
			nodeKr, err := keyring.New(sdk.KeyringServiceName(), keyring.BackendTest, pv.home, nil, clientCtx.Codec)
			if err != nil {
				return err
			}
			if _, _, err := addKey(nodeKr, v.Name, mnemonics[v.Name]); err != nil {
				return err
			}
		}
		if err := writeGentx(clientCtx, kr, pv, valPubKey, chainID, gentxsDir); err != nil {
			return fmt.Errorf("gentx of %s: %w", v.Name, err)
		}
		vals[i] = pv
	}

	appGenesis, err := buildGenesis(clientCtx, mbm, chain, chainID, genAccounts, balances, o.voteExtHeight)
	if err != nil {
		return err
	}
	genTime := time.Now().UTC().Truncate(time.Second)
	for _, pv := range vals {
		if err := appGenesis.SaveAs(pv.cmtCfg.GenesisFile()); err != nil {
			return err
		}
	}

	// Collect the gentxs into each node's genesis; this also sets the
	// persistent peers from the gentxs' memos.
	valAddrCodec := clientCtx.TxConfig.SigningContext().ValidatorAddressCodec()
	for _, pv := range vals {
		initCfg := genutiltypes.NewInitConfig(chainID, gentxsDir, pv.nodeID, nil)
		g, err := genutiltypes.AppGenesisFromFile(pv.cmtCfg.GenesisFile())
		if err != nil {
			return err
		}
		appState, err := genutil.GenAppStateFromConfig(clientCtx.Codec, clientCtx.TxConfig, pv.cmtCfg, initCfg, g,
			banktypes.GenesisBalancesIterator{}, genutiltypes.DefaultMessageValidator, valAddrCodec)
		if err != nil {
			return fmt.Errorf("collecting gentxs for %s: %w", pv.name, err)
		}
		g.AppState = appState
		if err := genutil.ExportGenesisFileWithTime(pv.cmtCfg.GenesisFile(), g, genTime); err != nil {
			return err
		}
	}

	if err := writeMnemonics(filepath.Join(outDir, "mnemonics.txt"), chain.Accounts, mnemonics); err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "Wrote a %d-validator network for chain %s in %s\n", n, chainID, outDir)
	for i, pv := range vals {
		fmt.Fprintf(out, "  node%d (%s, stake %s): rpc %d, p2p %d, rest %d, grpc %d\n", i, pv.name, pv.stake, pv.ports.RPC, pv.ports.P2P, pv.ports.API, pv.ports.GRPC)
	}
	return nil
}

// addKey recovers name from mnemonic, or makes a new key when mnemonic is
// empty; it returns the record and the mnemonic.
func addKey(kr keyring.Keyring, name, mnemonic string) (*keyring.Record, string, error) {
	if mnemonic == "" {
		rec, m, err := kr.NewMnemonic(name, keyring.English, sdk.FullFundraiserPath, keyring.DefaultBIP39Passphrase, hd.Secp256k1)
		return rec, m, err
	}
	rec, err := kr.NewAccount(name, mnemonic, keyring.DefaultBIP39Passphrase, sdk.FullFundraiserPath, hd.Secp256k1)
	return rec, mnemonic, err
}

// writeNodeConfigs writes config.toml, app.toml and client.toml of one
// validator: loopback addresses, its ports, and the overrides of config.yml.
func writeNodeConfigs(pv *plannedValidator, chainID string, o testnetOptions) error {
	cfg := initCometBFTConfig()
	cfg.SetRoot(pv.home)
	cfg.Moniker = pv.name
	cfg.RPC.ListenAddress = fmt.Sprintf("tcp://127.0.0.1:%d", pv.ports.RPC)
	cfg.P2P.ListenAddress = fmt.Sprintf("tcp://127.0.0.1:%d", pv.ports.P2P)
	cfg.P2P.AddrBookStrict = false
	cfg.P2P.AllowDuplicateIP = true
	cfg.RPC.PprofListenAddress = ""
	cfg.Consensus.TimeoutCommit = o.timeoutCommit
	if err := decodeOverrides(pv.config, cfg); err != nil {
		return fmt.Errorf("config overrides: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(pv.home, "config"), 0o755); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(pv.home, "data"), 0o755); err != nil {
		return err
	}
	cmtcfg.WriteConfigFile(filepath.Join(pv.home, "config", "config.toml"), cfg)
	pv.cmtCfg = cfg

	tmpl, appCfgAny := initAppConfig()
	appCfg := appCfgAny.(AppConfig)
	appCfg.API.Address = fmt.Sprintf("tcp://127.0.0.1:%d", pv.ports.API)
	appCfg.GRPC.Address = fmt.Sprintf("127.0.0.1:%d", pv.ports.GRPC)
	appCfg.Sidecar.Address = o.sidecar
	if err := decodeOverrides(pv.app, &appCfg); err != nil {
		return fmt.Errorf("app overrides: %w", err)
	}
	serverconfig.SetConfigTemplate(tmpl)
	serverconfig.WriteConfigFile(filepath.Join(pv.home, "config", "app.toml"), appCfg)

	clientToml := fmt.Sprintf(`# Client settings of this node's home.
chain-id = %q
keyring-backend = "test"
keyring-default-keyname = ""
output = "text"
node = "tcp://127.0.0.1:%d"
broadcast-mode = "sync"
`, chainID, pv.ports.RPC)
	return os.WriteFile(filepath.Join(pv.home, "config", "client.toml"), []byte(clientToml), 0o600)
}

// decodeOverrides sets the fields of dst named (by mapstructure tag) in
// overrides, leaving the others alone. Durations may be strings ("2s").
func decodeOverrides(overrides map[string]any, dst any) error {
	if len(overrides) == 0 {
		return nil
	}
	dec, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{
		Result:           dst,
		ErrorUnused:      true,
		WeaklyTypedInput: true,
		Squash:           true,
		DecodeHook:       mapstructure.StringToTimeDurationHookFunc(),
	})
	if err != nil {
		return err
	}
	return dec.Decode(overrides)
}

// writeGentx signs the validator's MsgCreateValidator into gentxsDir; its
// memo carries the node's P2P address, from which peers are wired.
func writeGentx(clientCtx client.Context, kr keyring.Keyring, pv *plannedValidator, valPubKey cryptotypes.PubKey, chainID, gentxsDir string) error {
	commission := stakingtypes.NewCommissionRates(
		sdkmath.LegacyNewDecWithPrec(10, 2), sdkmath.LegacyNewDecWithPrec(20, 2), sdkmath.LegacyNewDecWithPrec(1, 2),
	)
	msg, err := stakingtypes.NewMsgCreateValidator(
		pv.valAddr.String(), valPubKey, pv.stake, stakingtypes.NewDescription(pv.name, "", "", "", ""),
		commission, sdkmath.OneInt(),
	)
	if err != nil {
		return err
	}
	txBuilder := clientCtx.TxConfig.NewTxBuilder()
	if err := txBuilder.SetMsgs(msg); err != nil {
		return err
	}
	txBuilder.SetMemo(fmt.Sprintf("%s@%s", pv.nodeID, net.JoinHostPort("127.0.0.1", strconv.Itoa(pv.ports.P2P))))
	txBuilder.SetGasLimit(200_000)

	txFactory := tx.Factory{}.
		WithChainID(chainID).
		WithKeybase(kr).
		WithTxConfig(clientCtx.TxConfig).
		WithSignMode(signing.SignMode_SIGN_MODE_DIRECT)
	if err := tx.Sign(clientCtx.CmdContext, txFactory, pv.name, txBuilder, true); err != nil {
		return err
	}
	bz, err := clientCtx.TxConfig.TxJSONEncoder()(txBuilder.GetTx())
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(gentxsDir, pv.name+".json"), bz, 0o644)
}

// buildGenesis returns the genesis every node starts from: the modules'
// defaults in ucohort, the accounts and balances, the COHORT denom
// metadata, vote extensions on from voteExtHeight, and then config.yml's
// overrides, which win.
func buildGenesis(clientCtx client.Context, mbm module.BasicManager, chain *chainconfig.Config, chainID string,
	accounts []authtypes.GenesisAccount, balances []banktypes.Balance, voteExtHeight int64,
) (*genutiltypes.AppGenesis, error) {
	cdc := clientCtx.Codec
	state := mbm.DefaultGenesis(cdc)

	var authGen authtypes.GenesisState
	cdc.MustUnmarshalJSON(state[authtypes.ModuleName], &authGen)
	packed, err := authtypes.PackAccounts(accounts)
	if err != nil {
		return nil, err
	}
	authGen.Accounts = append(authGen.Accounts, packed...)
	state[authtypes.ModuleName] = cdc.MustMarshalJSON(&authGen)

	var bankGen banktypes.GenesisState
	cdc.MustUnmarshalJSON(state[banktypes.ModuleName], &bankGen)
	bankGen.Balances = append(bankGen.Balances, balances...)
	for _, b := range balances {
		bankGen.Supply = bankGen.Supply.Add(b.Coins...)
	}
	bankGen.DenomMetadata = append(bankGen.DenomMetadata, app.DenomMetadata())
	state[banktypes.ModuleName] = cdc.MustMarshalJSON(&bankGen)

	appState, err := json.Marshal(state)
	if err != nil {
		return nil, err
	}
	g := genutiltypes.NewAppGenesisWithVersion(chainID, appState)
	params := cmttypes.DefaultConsensusParams()
	params.ABCI.VoteExtensionsEnableHeight = voteExtHeight
	g.Consensus = &genutiltypes.ConsensusGenesis{Params: params}
	if err := applyGenesisOverrides(g, chain.Genesis); err != nil {
		return nil, err
	}
	if err := g.ValidateAndComplete(); err != nil {
		return nil, fmt.Errorf("genesis after config.yml overrides: %w", err)
	}
	return g, nil
}

// applyGenesisOverrides merges config.yml's genesis.app_state and
// genesis.consensus into g, going through JSON so that the SDK's own
// decoders check the result.
func applyGenesisOverrides(g *genutiltypes.AppGenesis, over chainconfig.Genesis) error {
	if len(over.AppState) > 0 {
		var state map[string]any
		if err := json.Unmarshal(g.AppState, &state); err != nil {
			return err
		}
		for module := range over.AppState {
			if _, ok := state[module]; !ok {
				return fmt.Errorf("genesis.app_state.%s: no such module", module)
			}
		}
		merged, err := json.Marshal(chainconfig.Merge(state, jsonCompatible(over.AppState)))
		if err != nil {
			return err
		}
		g.AppState = merged
	}
	if len(over.Consensus) > 0 {
		cur, err := json.Marshal(g.Consensus)
		if err != nil {
			return err
		}
		var m map[string]any
		if err := json.Unmarshal(cur, &m); err != nil {
			return err
		}
		merged, err := json.Marshal(chainconfig.Merge(m, jsonCompatible(over.Consensus)))
		if err != nil {
			return err
		}
		var cons genutiltypes.ConsensusGenesis
		if err := json.Unmarshal(merged, &cons); err != nil {
			return fmt.Errorf("genesis.consensus: %w", err)
		}
		g.Consensus = &cons
	}
	return nil
}

// jsonCompatible turns YAML-decoded values into what encoding/json expects
// (map[string]any all the way down); numbers become strings where the SDK's
// JSON wants them, which protojson accepts either way.
func jsonCompatible(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[k] = jsonCompatible(e)
		}
		return out
	case map[any]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[fmt.Sprint(k)] = jsonCompatible(e)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = jsonCompatible(e)
		}
		return out
	case int:
		return strconv.Itoa(t)
	case int64:
		return strconv.FormatInt(t, 10)
	case uint64:
		return strconv.FormatUint(t, 10)
	default:
		return v
	}
}

// writeMnemonics records the accounts' mnemonics, for people running a
// local network; it is never meant for real funds.
func writeMnemonics(path string, accounts []chainconfig.Account, mnemonics map[string]string) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	w := bufio.NewWriter(f)
	fmt.Fprintln(w, "# Local testnet keys. Never use them for real funds.")
	for _, a := range accounts {
		fmt.Fprintf(w, "%s: %s\n", a.Name, strings.TrimSpace(mnemonics[a.Name]))
	}
	return w.Flush()
}
