package types

import (
	"fmt"

	"cosmossdk.io/core/address"

	sdk "github.com/cosmos/cosmos-sdk/types"
)

var (
	_ sdk.Msg = &MsgRegisterProvider{}
	_ sdk.Msg = &MsgUpdateProvider{}
	_ sdk.Msg = &MsgBondCollateral{}
	_ sdk.Msg = &MsgUnbondCollateral{}
	_ sdk.Msg = &MsgHeartbeat{}
	_ sdk.Msg = &MsgUnjail{}
	_ sdk.Msg = &MsgUpdateParams{}
)

// ValidateAddress checks a bech32 account address with ac.
func ValidateAddress(ac address.Codec, field, addr string) error {
	if _, err := ac.StringToBytes(addr); err != nil {
		return fmt.Errorf("%w: %s %q: %v", ErrInvalidInfo, field, addr, err)
	}
	return nil
}

// ValidatePositive checks that c is a valid coin with a positive amount.
func ValidatePositive(c sdk.Coin) error {
	if err := c.Validate(); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidAmount, err)
	}
	if !c.IsPositive() {
		return fmt.Errorf("%w: %s must be positive", ErrInvalidAmount, c)
	}
	return nil
}
