package types

import "cosmossdk.io/collections"

const (
	// ModuleName is the name of the market module, its store and its module
	// account, which holds job escrow, bid deposits and dispute bonds.
	ModuleName = "market"
	// StoreKey is the module's store key.
	StoreKey = ModuleName
)

// Store prefixes.
var (
	ParamsKey          = collections.NewPrefix(0)
	JobsKey            = collections.NewPrefix(1)
	NextJobIDKey       = collections.NewPrefix(2)
	BidsKey            = collections.NewPrefix(3)
	JobsByClientKey    = collections.NewPrefix(4)
	JobsByProviderKey  = collections.NewPrefix(5)
	JobsByStateKey     = collections.NewPrefix(6)
	BiddingQueueKey    = collections.NewPrefix(7)
	SettlementQueueKey = collections.NewPrefix(8)
	DeadlineQueueKey   = collections.NewPrefix(9)
	UsageQueueKey      = collections.NewPrefix(10)
	// ReportedReceiptsKey: sha256 of the sign bytes of receipts reported wrong.
	ReportedReceiptsKey = collections.NewPrefix(11)
)
