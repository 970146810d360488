package serve

import (
	"errors"
	"fmt"

	"github.com/cosmos/cosmos-sdk/crypto/keyring"
	"github.com/cosmos/cosmos-sdk/crypto/keys/ed25519"
	"github.com/cosmos/cosmos-sdk/crypto/keys/secp256k1"
	cryptotypes "github.com/cosmos/cosmos-sdk/crypto/types"
	sdk "github.com/cosmos/cosmos-sdk/types"
)

// AddressPrefix is the bech32 prefix of Cohort accounts (app.Bech32Prefix,
// repeated here so that this package does not pull in the app).
const AddressPrefix = "cohort"

// Signature algorithms of receipts.
const (
	AlgoSecp256k1 = "secp256k1"
	AlgoEd25519   = "ed25519"
)

// Signer signs a provider's responses and receipts.
//
// A provider signs with the secp256k1 key of its provider account, read
// once from the keyring (SignerFromKeyring), so the signer's address is
// the operator address the chain knows and anyone can check a receipt
// against the account's public key. Signatures are the SDK's: ECDSA over
// sha256 of the message, 64 bytes r‖s in lower-S form (what
// secp256k1.PubKey.VerifySignature accepts). An ed25519 key (NewEd25519Signer) signs the
// same way for tests and for a hot serving key; its address is derived
// the SDK's way too (sha256(pubkey)[:20]) but is bound to no account.
type Signer struct {
	priv cryptotypes.PrivKey
	pub  []byte // computed once: deriving it is a point multiplication
	addr string
	algo string
}

// NewSigner wraps a secp256k1 or ed25519 private key of the SDK.
func NewSigner(priv cryptotypes.PrivKey) (*Signer, error) {
	var algo string
	switch priv.(type) {
	case *secp256k1.PrivKey:
		algo = AlgoSecp256k1
	case *ed25519.PrivKey:
		algo = AlgoEd25519
	default:
		return nil, fmt.Errorf("serve: key type %T is neither secp256k1 nor ed25519", priv)
	}
	addr, err := sdk.Bech32ifyAddressBytes(AddressPrefix, priv.PubKey().Address())
	if err != nil {
		return nil, err
	}
	return &Signer{priv: priv, pub: priv.PubKey().Bytes(), addr: addr, algo: algo}, nil
}

// NewEd25519Signer is a signer with a fresh random ed25519 key.
func NewEd25519Signer() *Signer {
	s, _ := NewSigner(ed25519.GenPrivKey())
	return s
}

// NewSecp256k1Signer is a signer with a fresh random secp256k1 key.
func NewSecp256k1Signer() *Signer {
	s, _ := NewSigner(secp256k1.GenPrivKey())
	return s
}

// SignerFromKeyring reads the private key of name from kr (a local key:
// not a ledger or offline one) once, and signs with it in memory.
func SignerFromKeyring(kr keyring.Keyring, name string) (*Signer, error) {
	rec, err := kr.Key(name)
	if err != nil {
		return nil, fmt.Errorf("serve: key %q: %w", name, err)
	}
	local := rec.GetLocal()
	if local == nil || local.PrivKey == nil {
		return nil, fmt.Errorf("serve: key %q is not a local key with a private key", name)
	}
	priv, ok := local.PrivKey.GetCachedValue().(cryptotypes.PrivKey)
	if !ok {
		return nil, fmt.Errorf("serve: key %q: private key not decoded", name)
	}
	return NewSigner(priv)
}

// Address is the bech32 address of the signing key.
func (s *Signer) Address() string { return s.addr }

// Algo is AlgoSecp256k1 or AlgoEd25519.
func (s *Signer) Algo() string { return s.algo }

// PubKey is the compressed secp256k1 (33 bytes) or ed25519 (32 bytes) public key.
func (s *Signer) PubKey() []byte { return s.pub }

// PrivKey is the signing key (a gateway signs its client's vouchers with it).
func (s *Signer) PrivKey() cryptotypes.PrivKey { return s.priv }

// Sign signs msg.
func (s *Signer) Sign(msg []byte) ([]byte, error) { return s.priv.Sign(msg) }

// PubKeyOf builds the SDK public key of algo from its bytes.
func PubKeyOf(algo string, key []byte) (cryptotypes.PubKey, error) {
	switch algo {
	case AlgoSecp256k1:
		if len(key) != secp256k1.PubKeySize {
			return nil, fmt.Errorf("serve: secp256k1 public key of %d bytes", len(key))
		}
		return &secp256k1.PubKey{Key: key}, nil
	case AlgoEd25519:
		if len(key) != ed25519.PubKeySize {
			return nil, fmt.Errorf("serve: ed25519 public key of %d bytes", len(key))
		}
		return &ed25519.PubKey{Key: key}, nil
	}
	return nil, fmt.Errorf("serve: unknown signature algorithm %q", algo)
}

// ErrBadSignature is returned when a signature does not verify or the key
// does not match the claimed address.
var ErrBadSignature = errors.New("serve: bad signature")

// Verify checks sig over msg with the key (algo, key), and that the key's
// address is addr (bech32).
func Verify(algo string, key []byte, addr string, msg, sig []byte) error {
	pk, err := PubKeyOf(algo, key)
	if err != nil {
		return err
	}
	want, err := sdk.Bech32ifyAddressBytes(AddressPrefix, pk.Address())
	if err != nil {
		return err
	}
	if want != addr {
		return fmt.Errorf("%w: key is %s's, not %s's", ErrBadSignature, want, addr)
	}
	if !pk.VerifySignature(msg, sig) {
		return ErrBadSignature
	}
	return nil
}
