package main

import "github.com/cometbft/cometbft/types"

// sumTx is the hash CometBFT indexes a transaction by.
func sumTx(bz []byte) []byte { return types.Tx(bz).Hash() }
