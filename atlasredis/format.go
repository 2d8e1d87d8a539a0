package atlasredis

import (
	"crypto/cipher"
	"fmt"
	"io"
	"log/slog"
	"strconv"
)

// sealer holds a TokenStore's AES-GCM cipher, whose key schedule begins with
// the raw seal key. It sits behind a pointer so that fmt, which prints what a
// struct's pointer fields point to only one level deep, never reaches the
// key schedule, even when a TokenStore value (which has no Format method:
// its methods take a pointer) is printed.
type sealer struct {
	cipher.AEAD
}

// Format describes the store without its seal key, under every verb, so that
// printing a *TokenStore never shows the key or the tokens.
func (s *TokenStore) Format(f fmt.State, verb rune) {
	desc := "atlasredis.TokenStore(nil)"
	if s != nil {
		desc = fmt.Sprintf("atlasredis.TokenStore{key: %q, sealed: %s}", s.key, s.sealing())
	}
	if verb == 'q' {
		desc = strconv.Quote(desc)
	}
	_, _ = io.WriteString(f, desc)
}

// LogValue describes the store to log/slog without its seal key.
func (s *TokenStore) LogValue() slog.Value {
	if s == nil {
		return slog.StringValue("atlasredis.TokenStore(nil)")
	}
	return slog.GroupValue(slog.String("key", s.key), slog.String("sealed", s.sealing()))
}

// sealing says how the store seals the tokens: "no", or the key id.
func (s *TokenStore) sealing() string {
	if s.aead == nil {
		return "no"
	}
	return "with key " + strconv.Quote(s.keyID)
}
