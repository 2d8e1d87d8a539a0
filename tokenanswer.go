package atlas

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
)

// The auth answers are read as a tolerant reader would (see also
// timestamp.go, and decodeWebhook): the client needs the tokens, and refuses
// an answer whose tokens it cannot read; what else the answer carries only
// helps, and an odd value there never fails the login or the refresh.

// UnmarshalJSON reads a token answer: access_token and refresh_token as
// strings; expires_in, which only schedules the early refresh, as seconds
// from a JSON number (3600, or 3600.0) or a numeric string, anything else
// leaving the expiry unknown (0: the token is used until it is refused);
// token_type, which the client does not use, only when it is a string.
func (t *tokenResponse) UnmarshalJSON(b []byte) error {
	type plain tokenResponse
	aux := struct {
		*plain
		TokenType json.RawMessage `json:"token_type"`
		ExpiresIn json.RawMessage `json:"expires_in"`
	}{plain: (*plain)(t)}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	t.TokenType = ""
	_ = json.Unmarshal(aux.TokenType, &t.TokenType)
	t.ExpiresIn = lenientSeconds(aux.ExpiresIn)
	return nil
}

// lenientSeconds reads a whole number of seconds from a JSON number or a
// string holding one, rounding a fraction down; it returns 0 for anything
// else, and for a value that is not positive.
func lenientSeconds(raw json.RawMessage) int64 {
	s := strings.TrimSpace(string(raw))
	if unq, err := strconv.Unquote(s); err == nil && strings.HasPrefix(s, `"`) {
		s = strings.TrimSpace(unq)
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return max(n, 0)
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f <= 0 {
		return 0
	}
	if f >= math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(f)
}

// UnmarshalJSON reads a login answer: its tokens must be readable (see
// tokenResponse), but a user object that is not one leaves the zero User
// rather than failing a login whose tokens are good; the client's own logins
// do not use it.
func (r *loginResponse) UnmarshalJSON(b []byte) error {
	var aux struct {
		Tokens tokenResponse   `json:"tokens"`
		User   json.RawMessage `json:"user"`
	}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	r.Tokens, r.User = aux.Tokens, User{}
	if err := json.Unmarshal(aux.User, &r.User); err != nil {
		r.User = User{}
	}
	return nil
}
