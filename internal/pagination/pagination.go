// Package pagination bounds the page requests of Cohort's list queries.
package pagination

import "github.com/cosmos/cosmos-sdk/types/query"

// MaxLimit is the largest page any Cohort list query returns.
const MaxLimit = 200

// Cap returns p with its limit bounded: DefaultLimit when unset, MaxLimit
// when larger. A nil request becomes a first page of DefaultLimit.
func Cap(p *query.PageRequest) *query.PageRequest {
	if p == nil {
		return &query.PageRequest{Limit: query.DefaultLimit}
	}
	c := *p
	switch {
	case c.Limit == 0:
		c.Limit = query.DefaultLimit
	case c.Limit > MaxLimit:
		c.Limit = MaxLimit
	}
	return &c
}
