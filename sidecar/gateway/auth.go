package gateway

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	codectypes "github.com/cosmos/cosmos-sdk/codec/types"
	cryptotypes "github.com/cosmos/cosmos-sdk/crypto/types"
	sdk "github.com/cosmos/cosmos-sdk/types"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"

	"github.com/cohortchain/cohort/sidecar/serve"
)

// Request authentication.
//
// A client authenticates in one of two ways:
//
//   - API key: "Authorization: Bearer <key>". Keys come from a JSON file
//     {"<key>": "<account address>", ...} (LoadAPIKeys); the request is
//     served for that account. Cheap: one map look-up.
//   - Request signature, with the key of the client's on-chain account:
//     X-Cohort-Account (bech32 address), X-Cohort-Timestamp (unix
//     milliseconds), X-Cohort-Request-Id (a fresh nonce, at most 128
//     bytes) and X-Cohort-Signature (base64 of the account key's signature,
//     secp256k1 as the SDK signs: ECDSA over sha256, 64 bytes r‖s) of
//     RequestSignBytes. The public key is the account's on chain (it must
//     have sent a transaction), fetched once and cached. A timestamp more
//     than MaxSkew away is refused, and a request id seen from the account
//     within MaxSkew is refused as a replay.
const (
	HeaderAccount   = "X-Cohort-Account"
	HeaderTimestamp = "X-Cohort-Timestamp"
	HeaderSignature = "X-Cohort-Signature"
	MaxSkew         = 5 * time.Minute
)

// RequestSignVersion is the first line of RequestSignBytes.
const RequestSignVersion = "cohort-predict-request/v1"

// RequestSignBytes is what a client signs: version, account, method and
// path, timestamp, request id and the hex sha256 of the body, one a line.
func RequestSignBytes(account, method, path string, tsMillis int64, requestID string, body []byte) []byte {
	h := sha256.Sum256(body)
	return []byte(strings.Join([]string{RequestSignVersion, account, method + " " + path,
		strconv.FormatInt(tsMillis, 10), requestID, hex.EncodeToString(h[:])}, "\n") + "\n")
}

// SignRequest sets the signature headers of req for account with priv
// (clients, tests and the load script).
func SignRequest(req *http.Request, account string, priv cryptotypes.PrivKey, requestID string, body []byte, now time.Time) error {
	ts := now.UnixMilli()
	sig, err := priv.Sign(RequestSignBytes(account, req.Method, req.URL.Path, ts, requestID, body))
	if err != nil {
		return err
	}
	req.Header.Set(HeaderAccount, account)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(serve.HeaderRequestID, requestID)
	req.Header.Set(HeaderSignature, base64.StdEncoding.EncodeToString(sig))
	return nil
}

// PubKeys finds an account's public key.
type PubKeys interface {
	PubKey(ctx context.Context, account string) (cryptotypes.PubKey, error)
}

// StaticPubKeys maps accounts to keys (tests).
type StaticPubKeys map[string]cryptotypes.PubKey

// PubKey returns the key of account.
func (s StaticPubKeys) PubKey(_ context.Context, account string) (cryptotypes.PubKey, error) {
	if pk, ok := s[account]; ok {
		return pk, nil
	}
	return nil, fmt.Errorf("gateway: no public key for %s", account)
}

// ChainPubKeys reads public keys from x/auth and caches them.
type ChainPubKeys struct {
	Auth     authtypes.QueryClient
	Registry codectypes.InterfaceRegistry
	mu       sync.Mutex
	cache    map[string]cryptotypes.PubKey
}

// PubKey returns the on-chain public key of account.
func (c *ChainPubKeys) PubKey(ctx context.Context, account string) (cryptotypes.PubKey, error) {
	c.mu.Lock()
	pk, ok := c.cache[account]
	c.mu.Unlock()
	if ok {
		return pk, nil
	}
	res, err := c.Auth.Account(ctx, &authtypes.QueryAccountRequest{Address: account})
	if err != nil {
		return nil, fmt.Errorf("gateway: account %s: %w", account, err)
	}
	var acc sdk.AccountI
	if err := c.Registry.UnpackAny(res.Account, &acc); err != nil {
		return nil, err
	}
	pk = acc.GetPubKey()
	if pk == nil {
		return nil, fmt.Errorf("gateway: account %s has no public key on chain yet", account)
	}
	c.mu.Lock()
	if c.cache == nil {
		c.cache = map[string]cryptotypes.PubKey{}
	}
	c.cache[account] = pk
	c.mu.Unlock()
	return pk, nil
}

// LoadAPIKeys reads an API key file: a JSON object of key → account.
func LoadAPIKeys(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var keys map[string]string
	if err := json.Unmarshal(b, &keys); err != nil {
		return nil, fmt.Errorf("gateway: API key file %s: %w", path, err)
	}
	for k, acc := range keys {
		if len(k) < 16 {
			return nil, fmt.Errorf("gateway: API key file %s: a key shorter than 16 characters", path)
		}
		if _, err := sdk.GetFromBech32(acc, serve.AddressPrefix); err != nil {
			return nil, fmt.Errorf("gateway: API key file %s: account %q: %w", path, acc, err)
		}
	}
	return keys, nil
}

// Authenticator checks requests.
type Authenticator struct {
	// APIKeys maps keys to accounts.
	APIKeys map[string]string
	// PubKeys resolves signing accounts' keys (nil: signatures refused).
	PubKeys PubKeys
	// Anonymous, when set, lets unauthenticated requests through as this
	// client (for local tests only).
	Anonymous string
	Now       func() time.Time

	mu   sync.Mutex
	seen map[string]time.Time // account + "\n" + request id → when seen
	last time.Time
}

// Errors of Authenticate.
var (
	ErrUnauthenticated = errors.New("gateway: unauthenticated")
	ErrBadAuth         = errors.New("gateway: authentication failed")
)

// Authenticate returns the account a request is served for, and a reason
// label for metrics when it fails.
func (a *Authenticator) Authenticate(ctx context.Context, r *http.Request, body []byte) (string, string, error) {
	if h := r.Header.Get("Authorization"); h != "" {
		key, ok := strings.CutPrefix(h, "Bearer ")
		if !ok {
			return "", "malformed", fmt.Errorf("%w: Authorization is not Bearer", ErrBadAuth)
		}
		acc, ok := a.APIKeys[strings.TrimSpace(key)]
		if !ok {
			return "", "unknown_key", fmt.Errorf("%w: unknown API key", ErrBadAuth)
		}
		return acc, "", nil
	}
	acc := r.Header.Get(HeaderAccount)
	if acc == "" {
		if a.Anonymous != "" {
			return a.Anonymous, "", nil
		}
		return "", "missing", ErrUnauthenticated
	}
	if a.PubKeys == nil {
		return "", "no_signatures", fmt.Errorf("%w: this gateway takes API keys only", ErrBadAuth)
	}
	ts, err := strconv.ParseInt(r.Header.Get(HeaderTimestamp), 10, 64)
	if err != nil {
		return "", "malformed", fmt.Errorf("%w: bad %s", ErrBadAuth, HeaderTimestamp)
	}
	now := a.Now()
	if d := now.Sub(time.UnixMilli(ts)); d > MaxSkew || d < -MaxSkew {
		return "", "stale", fmt.Errorf("%w: timestamp %v away", ErrBadAuth, d)
	}
	reqID := r.Header.Get(serve.HeaderRequestID)
	if reqID == "" || len(reqID) > 128 || strings.ContainsAny(reqID, "\r\n") {
		return "", "malformed", fmt.Errorf("%w: a signed request needs %s", ErrBadAuth, serve.HeaderRequestID)
	}
	sig, err := base64.StdEncoding.DecodeString(r.Header.Get(HeaderSignature))
	if err != nil {
		return "", "malformed", fmt.Errorf("%w: bad %s", ErrBadAuth, HeaderSignature)
	}
	pk, err := a.PubKeys.PubKey(ctx, acc)
	if err != nil {
		return "", "unknown_account", fmt.Errorf("%w: %v", ErrBadAuth, err)
	}
	if addr, err := sdk.Bech32ifyAddressBytes(serve.AddressPrefix, pk.Address()); err != nil || addr != acc {
		return "", "key_mismatch", fmt.Errorf("%w: key does not belong to %s", ErrBadAuth, acc)
	}
	if !pk.VerifySignature(RequestSignBytes(acc, r.Method, r.URL.Path, ts, reqID, body), sig) {
		return "", "bad_signature", fmt.Errorf("%w: bad signature", ErrBadAuth)
	}
	if !a.remember(acc+"\n"+reqID, now) {
		return "", "replay", fmt.Errorf("%w: request id %q already used", ErrBadAuth, reqID)
	}
	return acc, "", nil
}

// remember records a nonce; false if it was seen within MaxSkew.
func (a *Authenticator) remember(nonce string, now time.Time) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.seen == nil {
		a.seen = map[string]time.Time{}
	}
	if now.Sub(a.last) > MaxSkew {
		for k, t := range a.seen {
			if now.Sub(t) > 2*MaxSkew {
				delete(a.seen, k)
			}
		}
		a.last = now
	}
	if _, ok := a.seen[nonce]; ok {
		return false
	}
	a.seen[nonce] = now
	return true
}
