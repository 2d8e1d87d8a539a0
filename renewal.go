package atlas

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"
)

// renew refreshes the tokens (or logs in when there is nothing to refresh),
// once for all concurrent callers. seen is the Authorization value the caller
// considers out of date; when the tokens have changed since, another caller
// has renewed them and there is nothing to do. cfg shapes the requests of a
// renewal this caller starts (Auth.Refresh's options); its response gets the
// answer to the last of them once the renewal has ended.
func (tm *tokenManager) renew(ctx context.Context, seen string, cfg requestConfig) error {
	for {
		tm.mu.Lock()
		if tm.bearer != seen {
			tm.mu.Unlock()
			return nil
		}
		f, leader := tm.flight, false
		if f == nil {
			f, leader = newFlight(false), true
			fcfg := cfg
			fcfg.response = &f.resp // the flight's own: it may outlive this call
			tm.launch(&tm.flight, f, func() error { return tm.renewNow(ctx, f, fcfg) })
		}
		tm.mu.Unlock()
		wait := f.settled
		if leader {
			wait = f.done
		} else if f.isSettled() {
			// Its outcome did not help us, and it is only saving: wait for
			// it to end, then look again.
			select {
			case <-f.done:
				continue
			case <-ctx.Done():
				return fmt.Errorf("atlas: waiting for token refresh: %w", ctx.Err())
			}
		}
		st := stateOf(ctx)
		from := st.waitStart()
		select {
		case <-wait:
			st.waited(from, WaitInfo{Reason: WaitTokenRenewal, Renewal: tm.renewalOf(f)})
		case <-ctx.Done():
			st.waited(from, WaitInfo{Reason: WaitTokenRenewal, Renewal: tm.renewalOf(f)})
			if tm.bearerSnapshot() != seen {
				return nil // renewed; only its store calls go on
			}
			return fmt.Errorf("atlas: waiting for token refresh: %w", ctx.Err())
		}
		if leader && f.panicked != nil {
			panic(f.panicked)
		}
		if leader && f.resp != nil && cfg.response != nil {
			*cfg.response = f.resp // f is done: nothing writes f.resp any more
		}
		if f.login {
			continue // an Auth.Login, whose outcome is not ours: look again
		}
		// The leader's context may have ended while ours goes on: then try
		// again, becoming the leader if nobody else has.
		if f.err != nil && isContextError(f.err) && ctx.Err() == nil {
			continue
		}
		return f.err
	}
}

// lockStore takes the store's renewal lock when it is a TokenLocker, and
// returns the function that releases it (one that does nothing without a
// lock) and whether it holds the lock. It fails only when ctx ended; any other
// failure to take the lock is logged, and the renewal goes on without it.
func (tm *tokenManager) lockStore(ctx context.Context) (unlock func(), locked bool, err error) {
	l, ok := tm.store.(TokenLocker)
	if !ok {
		return func() {}, false, nil
	}
	unlock, err = l.LockTokens(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil, false, fmt.Errorf("atlas: waiting for the token lock: %w", ctx.Err())
		}
		tm.log(ctx, slog.LevelWarn, "atlas: taking the token lock failed; renewing without it", slog.String("error", err.Error()))
		return func() {}, false, nil
	}
	if unlock == nil {
		unlock = func() {}
	}
	return unlock, true, nil
}

// renewNow is the renewal flight f: under the store's lock, it takes the
// tokens another holder renewed, or refreshes, or logs in.
func (tm *tokenManager) renewNow(ctx context.Context, f *flight, cfg requestConfig) (err error) {
	parent, kind := ctx, TokenLogin
	if tm.hasRefreshToken() {
		kind = TokenRefresh
	}
	ctx, rn := tm.startRenewal(ctx, kind, f)
	defer func() { rn.done(err) }()
	unlock, locked, err := tm.lockStore(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	if locked && tm.reload(ctx) {
		return nil
	}

	tm.mu.Lock()
	refresh, creds := tm.tokens.RefreshToken, tm.creds
	tm.mu.Unlock()

	var refused error // the refresh's refusal, when the login follows it
	if refresh != "" {
		err := tm.refresh(ctx, refresh, f, cfg)
		if err == nil {
			return nil
		}
		var apiErr *Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode >= 500 || apiErr.StatusCode == http.StatusTooManyRequests {
			return err // not a refusal of the token: logging in would not help
		}
		if tm.adoptStored(ctx, refresh) {
			return nil
		}
		if !creds.known() {
			return fmt.Errorf("%w: the refresh token was refused and the client has no credentials to log in again: %w", ErrUnauthorized, err)
		}
		tm.log(ctx, slog.LevelDebug, "atlas: refresh token refused; logging in again", slog.Int("status", apiErr.StatusCode))
		refused = err
	}
	if !creds.known() {
		if tm.hasAccessToken() {
			return fmt.Errorf("%w: the access token was refused and the client has neither a refresh token nor credentials to renew it", ErrUnauthorized)
		}
		return fmt.Errorf("%w: no credentials or tokens: use WithCredentials, WithTokens or WithTokenStore", ErrUnauthorized)
	}
	if refused != nil && rn != nil {
		// The refresh ended refused: the login is a renewal of its own.
		rn.done(refused)
		ctx, rn = tm.startRenewal(parent, TokenLogin, f)
	}
	// The refresh request's Idempotency-Key is not the login's.
	cfg.idempotencyKey, cfg.keySet = "", false
	_, err = tm.loginNow(ctx, creds, false, cfg, f)
	return err
}

// reload loads the store again under its lock and takes the stored tokens
// when another holder has renewed them: when they differ both from the
// client's and from what it last read from or wrote to the store. It reports
// whether the tokens now serve without a request.
func (tm *tokenManager) reload(ctx context.Context) bool {
	t, err := tm.store.Load(ctx)
	if errors.Is(err, ErrCorruptTokens) {
		tm.corruptStore(ctx, err)
		return false
	}
	if err != nil {
		if ctx.Err() == nil {
			tm.log(ctx, slog.LevelWarn, "atlas: loading tokens under the lock failed; renewing the client's own", slog.String("error", err.Error()))
		}
		return false
	}
	tm.mu.Lock()
	tm.corrupt = false
	if !hasTokens(t) || samePair(*t, tm.tokens) || samePair(*t, tm.lastStored) {
		tm.mu.Unlock()
		return false
	}
	tm.lastStored = *t
	tm.setLocked(*t, 0)
	usable := tm.usableLocked(time.Now())
	tm.mu.Unlock()
	tm.log(ctx, slog.LevelDebug, "atlas: using the tokens another client renewed", slog.Bool("due", !usable))
	return usable
}

// corruptStore logs that the store holds unreadable tokens, which the
// renewal to come saves over: once until a Load reads tokens again.
func (tm *tokenManager) corruptStore(ctx context.Context, err error) {
	tm.mu.Lock()
	logged := tm.corrupt
	tm.corrupt = true
	tm.mu.Unlock()
	if !logged {
		tm.log(ctx, slog.LevelWarn, "atlas: the token store holds unreadable tokens; renewing them saves over them", slog.String("error", err.Error()))
	}
}

// adoptStored takes the store's tokens when they differ from the refused
// refresh token: another client sharing the store has renewed them.
func (tm *tokenManager) adoptStored(ctx context.Context, refused string) bool {
	t, err := tm.store.Load(ctx)
	if err != nil || t == nil || t.AccessToken == "" || t.RefreshToken == refused {
		return false
	}
	tm.mu.Lock()
	tm.lastStored = *t
	tm.setLocked(*t, 0)
	tm.mu.Unlock()
	tm.log(ctx, slog.LevelDebug, "atlas: refresh token refused; using newer tokens from the store")
	return true
}

// refresh sends the refresh request, installs the new tokens, settles f and
// saves them.
func (tm *tokenManager) refresh(ctx context.Context, refreshToken string, f *flight, cfg requestConfig) error {
	var out tokenResponse
	req := Request{Method: http.MethodPost, Path: "/auth/refresh", Route: "/auth/refresh", Body: &refreshRequest{RefreshToken: refreshToken}, noAuth: true, op: "Auth.Refresh"}
	if err := tm.client.do(ctx, req, cfg, &out); err != nil {
		return err
	}
	if out.AccessToken == "" {
		return errors.New("atlas: POST /auth/refresh: the response has no access_token")
	}
	t := Tokens{AccessToken: out.AccessToken, RefreshToken: refreshToken}
	if out.RefreshToken != "" {
		t.RefreshToken = out.RefreshToken // rotation: the old one is spent
	}
	tm.mu.Lock()
	lifetime := expiry(&t, out.ExpiresIn, time.Now())
	tm.setLocked(t, lifetime)
	tm.mu.Unlock()
	f.settle(nil)
	tm.log(ctx, slog.LevelDebug, "atlas: access token refreshed", slog.Duration("lifetime", lifetime), slog.Bool("rotated", out.RefreshToken != ""))
	tm.save(ctx, t)
	return nil
}

// login is Auth.Login: it logs in with creds, under the store's lock, once
// any renewal in progress has ended; remember makes them the ones used for
// later logins.
func (tm *tokenManager) login(ctx context.Context, creds credentials, remember bool, opts []PostOption) (*User, error) {
	if ctx == nil {
		return nil, nilContext(http.MethodPost, "/auth/login")
	}
	if !creds.known() {
		return nil, errors.New("atlas: POST /auth/login: email and password are required")
	}
	cfg := configOf(opts)
	if err := cfg.check(http.MethodPost); err != nil {
		return nil, invalidParams(http.MethodPost+" /auth/login", "%v", err)
	}
	dst := cfg.response // set from the flight's once it is done
	for {
		tm.mu.Lock()
		if busy := tm.flight; busy != nil {
			tm.mu.Unlock()
			select {
			case <-busy.done:
				continue
			case <-ctx.Done():
				return nil, fmt.Errorf("atlas: POST /auth/login: waiting for a token refresh: %w", ctx.Err())
			}
		}
		f := newFlight(true)
		fcfg := cfg
		fcfg.response = &f.resp // the flight's own: it may outlive this call
		tm.launch(&tm.flight, f, func() (err error) {
			ctx, rn := tm.startRenewal(ctx, TokenLogin, f)
			defer func() { rn.done(err) }()
			unlock, _, err := tm.lockStore(ctx)
			if err != nil {
				return err
			}
			defer unlock()
			_, err = tm.loginNow(ctx, creds, remember, fcfg, f)
			return err
		})
		tm.mu.Unlock()
		select {
		case <-f.done:
			if f.panicked != nil {
				panic(f.panicked)
			}
			if f.resp != nil && dst != nil {
				*dst = f.resp
			}
			return f.user, f.err
		case <-ctx.Done():
			tm.mu.Lock()
			u := f.user
			tm.mu.Unlock()
			if u != nil {
				return u, nil // logged in; only the Save goes on
			}
			return nil, fmt.Errorf("atlas: POST /auth/login: %w", ctx.Err())
		}
	}
}

// loginNow sends the login request, installs the tokens, settles the flight
// f (which gets the user) and saves them.
func (tm *tokenManager) loginNow(ctx context.Context, creds credentials, remember bool, cfg requestConfig, f *flight) (*User, error) {
	if err := tm.refused(creds); err != nil {
		return nil, err
	}
	var out loginResponse
	req := Request{Method: http.MethodPost, Path: "/auth/login", Route: "/auth/login", Body: &loginRequest{Email: creds.email, Password: creds.password}, noAuth: true, op: "Auth.Login"}
	if err := tm.client.do(ctx, req, cfg, &out); err != nil {
		var apiErr *Error
		if errors.As(err, &apiErr) && (apiErr.StatusCode == http.StatusUnauthorized || apiErr.StatusCode == http.StatusUnprocessableEntity) {
			tm.mu.Lock()
			tm.refusal = &loginRefusal{creds: creds.digest(), at: time.Now(), err: err}
			tm.mu.Unlock()
		}
		return nil, err
	}
	if out.Tokens.AccessToken == "" {
		return nil, errors.New("atlas: POST /auth/login: the response has no access_token")
	}
	t := Tokens{AccessToken: out.Tokens.AccessToken, RefreshToken: out.Tokens.RefreshToken}
	u := &out.User
	tm.mu.Lock()
	lifetime := expiry(&t, out.Tokens.ExpiresIn, time.Now())
	tm.setLocked(t, lifetime)
	tm.loaded = true
	tm.refusal = nil
	if remember {
		tm.creds = creds
	}
	f.user = u
	tm.mu.Unlock()
	f.settle(nil)
	tm.log(ctx, slog.LevelDebug, "atlas: logged in", slog.Duration("lifetime", lifetime))
	tm.save(ctx, t)
	return u, nil
}

// refused returns an error that wraps the API's refusal of creds when it
// refused them less than refusedLoginCoolDown ago, and nil otherwise.
func (tm *tokenManager) refused(creds credentials) error {
	tm.mu.Lock()
	r, now := tm.refusal, time.Now()
	tm.mu.Unlock()
	if r == nil || r.creds != creds.digest() || !now.Before(r.at.Add(refusedLoginCoolDown)) {
		return nil
	}
	return fmt.Errorf("atlas: POST /auth/login not sent: the API refused these credentials %s ago, and they are not sent again within %s of that (a client with other credentials may log in): %w",
		now.Sub(r.at).Round(time.Second), refusedLoginCoolDown, r.err)
}

// expiry sets t.Expiry from expires_in and returns the lifetime.
func expiry(t *Tokens, expiresIn int64, now time.Time) time.Duration {
	if expiresIn <= 0 {
		return 0
	}
	const maxLifetime = int64(365 * 24 * time.Hour / time.Second)
	lifetime := time.Duration(min(expiresIn, maxLifetime)) * time.Second
	t.Expiry = now.Add(lifetime)
	return lifetime
}

// save stores t, best-effort. It runs in a flight, under the store's lock
// when there is one, and on a context that does not end with the call that
// renewed the tokens: they are issued, and the refresh token they replace is
// spent.
func (tm *tokenManager) save(ctx context.Context, t Tokens) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), saveTimeout)
	defer cancel()
	if err := tm.store.Save(ctx, &t); err != nil {
		// The new tokens are in memory and the client goes on; the store will
		// get the next ones.
		tm.log(ctx, slog.LevelError, "atlas: saving tokens failed", slog.String("error", err.Error()))
		return
	}
	tm.mu.Lock()
	tm.lastStored = t
	tm.mu.Unlock()
}

func (tm *tokenManager) log(ctx context.Context, level slog.Level, msg string, attrs ...slog.Attr) {
	if tm.logger != nil && tm.logger.Enabled(ctx, level) {
		tm.logger.LogAttrs(ctx, level, msg, attrs...)
	}
}
