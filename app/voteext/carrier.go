package voteext

import (
	errorsmod "cosmossdk.io/errors"
	protov2 "google.golang.org/protobuf/proto"

	sdk "github.com/cosmos/cosmos-sdk/types"
)

// ModuleName is the codespace of this package's errors.
const ModuleName = "voteext"

// ErrCarrier is the result of the block's first tx when it carries the
// extended commit: the PreBlocker has already read it, and it does nothing
// when run as a transaction. Every validator reports the same result for
// it, whatever its block executor.
var ErrCarrier = errorsmod.Register(ModuleName, 2, "carries the previous block's extended commit; read by the PreBlocker, not executed")

// WrapTxDecoder returns a decoder that decodes the extended-commit carrier
// into CarrierTx and everything else with dec. Both block executors
// (sequential and Block-STM) then run the carrier through the same path and
// record the same result; an undecodable tx does not get that guarantee.
func WrapTxDecoder(dec sdk.TxDecoder) sdk.TxDecoder {
	return func(bz []byte) (sdk.Tx, error) {
		if IsInjectedTx(bz) {
			return CarrierTx{}, nil
		}
		return dec(bz)
	}
}

// CarrierTx is the in-memory form of the extended-commit carrier. Its one
// message fails ValidateBasic with ErrCarrier, so it never reaches the ante
// handler, never pays or charges anything, and is refused by CheckTx if a
// user submits it.
type CarrierTx struct{}

// GetMsgs returns the carrier's single, never-valid message.
func (CarrierTx) GetMsgs() []sdk.Msg { return []sdk.Msg{carrierMsg{}} }

// GetMsgsV2 returns no messages: the carrier has nothing to sign.
func (CarrierTx) GetMsgsV2() ([]protov2.Message, error) { return nil, nil }

// carrierMsg stands in the carrier's message list; it is never encoded.
type carrierMsg struct{}

func (carrierMsg) Reset()         {}
func (carrierMsg) String() string { return "cohort.voteext.Carrier" }
func (carrierMsg) ProtoMessage()  {}

// ValidateBasic always fails: the carrier is not a transaction to execute.
func (carrierMsg) ValidateBasic() error { return ErrCarrier }
