package app

import (
	"encoding/json"
)

// GenesisState is the app_state of the genesis file: one raw JSON document
// per module, keyed by module name.
type GenesisState map[string]json.RawMessage
