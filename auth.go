package atlas

// AuthService logs in, refreshes tokens and reads the current user.
type AuthService service
