package atlas

// AccountsService reads the chart of accounts.
type AccountsService service
